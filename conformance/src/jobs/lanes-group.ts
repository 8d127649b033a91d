import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { AdapterSetup } from '../factories.js';
import { withFaults } from '../faults/with-faults.js';
import { conformanceTest } from '../support/conformance-test.js';
import { collectResults, expectEveryResultOnce, openJobGroup } from './job-session.js';
import { square } from './job-tasks.js';

/** Tasks in each job of the lanes group. */
export const LANE_TASKS = 400;

/**
 * The adapter as one lane of a job beside the local backend (`lanes: [adapter, local]`): every
 * result comes back once and in order with both lanes running tasks, and, with half of the
 * adapter's invocations throttled, the job still finishes exactly once while the local lane
 * absorbs most of the work. An out-of-tree adapter gets this group with the rest.
 */
export function describeLanes(setup: AdapterSetup, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('lanes: beside the local backend', () => {
    const group = openJobGroup(setup, resolved);
    const within = resolved.scaled(120_000);
    const inputs = Array.from({ length: LANE_TASKS }, (_, index) => index);
    let root = '';
    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'fanout-lanes-'));
    });
    afterAll(async () => {
      await rm(root, { recursive: true, force: true });
    });

    conformanceTest(resolved, `a ${LANE_TASKS}-task job over this adapter and the local backend returns every result once, in order, from both lanes`, { timeoutMs: 180_000 }, async () => {
      const executor = await group.connect({}, { root });
      const job = await executor.map(square, inputs, { chunkSize: 4 });
      expectEveryResultOnce(await collectResults(job, within), LANE_TASKS, (index) => index * index);
      expect(await job.results()).toEqual(inputs.map((index) => index * index));
      const lanes = job.stats().lanes;
      expect(lanes.map((lane) => lane.name)).toEqual(['adapter', 'local']);
      for (const lane of lanes) expect(lane.tasks, `tasks run on lane ${lane.name}`).toBeGreaterThan(0);
      expect(lanes.reduce((sum, lane) => sum + lane.tasks, 0), 'tasks over both lanes').toBe(LANE_TASKS);
    });

    conformanceTest(resolved, 'with half of the adapter lane throttled, the job finishes exactly once and the local lane carries most tasks', { timeoutMs: 180_000 }, async () => {
      const throttled = withFaults(setup.plugin, { compute: { throttledShare: 0.5, retryAfterMs: 200 } });
      // Named apart, so that the lane's plugin never stands in for the local lane's own.
      const executor = await group.connect({ compute: { ...throttled, name: `${setup.plugin.name}-throttled` } }, { root });
      const job = await executor.map(square, inputs, { chunkSize: 4 });
      expectEveryResultOnce(await collectResults(job, within), LANE_TASKS, (index) => index * index);
      const [adapter, local] = job.stats().lanes;
      expect(throttled.injectedFaults().compute.throttled, 'throttles injected').toBeGreaterThan(0);
      expect(local!.tasks, `tasks on the local lane (adapter lane: ${adapter!.tasks})`).toBeGreaterThan(adapter!.tasks);
    });
  });
}
