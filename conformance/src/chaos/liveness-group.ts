import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Executor, JobStats } from '@fanout/core';
import { afterAll, describe, expect } from 'vitest';
import { readComputeDeclaration } from '../compute/compute-session.js';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import { computeFactoryFromAdapter, type AdapterSetup } from '../factories.js';
import { withFaults } from '../faults/with-faults.js';
import { collectResults, expectEveryResultOnce, openJobGroup } from '../jobs/job-session.js';
import { squareCrashingOnce } from '../jobs/job-tasks.js';
import { capability, conformanceTest } from '../support/conformance-test.js';

/** Tasks per liveness job. */
export const LIVENESS_TASKS = 1000;
/**
 * How long the fault-free job should take, about. Each task pauses for a time chosen from a
 * first job of 10 ms tasks so that the job takes this long on the backend under test: a
 * backend that runs many invocations at once gets longer tasks. A job of a second or two would
 * measure little but fixed costs (a suspicion needs a second at least, a replacement worker a
 * cold start), which no job of real work is made of.
 */
export const LIVENESS_TARGET_MS = 5000;
const FIRST_PAUSE_MS = 10;
const MAX_PAUSE_MS = 100;
/** A faulty job may take this many times the fault-free job of the same run. */
export const LIVENESS_SLOWDOWN = 3;
/** Share of invocations dropped, and of tasks that crash their worker once. */
const DROPPED_SHARE = 0.2;
const CRASH_EVERY = 50;

type Timed = { wallMs: number; stats: JobStats };

/** A task pause in the range the group uses, in whole milliseconds. */
function pauseFor(milliseconds: number): number {
  return Math.min(MAX_PAUSE_MS, Math.max(FIRST_PAUSE_MS, Math.round(milliseconds)));
}

/**
 * Liveness: at default settings (deadline, retries, chunking), an asynchronous job whose
 * invocations are silently dropped, or whose workers crash, is not left waiting for invocation
 * deadlines (minutes): lost invocations are found from the workers' start signals and sent again;
 * a crash is reported at the invocation's failedKey where the backend can (a supervised worker
 * process), and otherwise found once its range runs far longer than the job's others. Each faulty job must
 * finish within {@link LIVENESS_SLOWDOWN} times the fault-free job run just before it, with every
 * result exactly once. The crash scenario relies on a folder the workers share (a marker file
 * makes each task crash only once), so it is meant for local and emulated backends.
 */
export function describeLiveness(setup: AdapterSetup, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('liveness: lost and crashed asynchronous invocations are found in seconds, at default settings', async () => {
    const declared = await readComputeDeclaration(computeFactoryFromAdapter(setup));
    const requires = [capability('asyncInvoke', declared.capabilities.asyncInvoke)];
    const group = openJobGroup(setup, resolved);
    const within = resolved.scaled(300_000);
    const crashRoot = await mkdtemp(join(tmpdir(), 'fanout-liveness-'));
    afterAll(() => rm(crashRoot, { recursive: true, force: true }));

    let pauseMs = FIRST_PAUSE_MS;
    let sized = false;
    const run = async (executor: Executor, crashDirectory?: string): Promise<Timed> => {
      const inputs = Array.from({ length: LIVENESS_TASKS }, (_, value) => ({
        value,
        pauseMs,
        ...(crashDirectory !== undefined && value % CRASH_EVERY === CRASH_EVERY - 1 ? { crashDirectory } : {}),
      }));
      const started = Date.now();
      const job = await executor.map(squareCrashingOnce, inputs, { mode: 'async' });
      const collected = await collectResults(job, within);
      const wallMs = Date.now() - started;
      expectEveryResultOnce(collected, LIVENESS_TASKS, (index) => index * index);
      return { wallMs, stats: job.stats() };
    };
    /** The same job without faults, just before the faulty one: warm workers both. The first one sizes the tasks. */
    const baseline = async (): Promise<Timed> => {
      const executor = await group.connect();
      try {
        await run(executor);
        if (!sized) {
          // Measured warm (the first job of an executor pays for cold starts), at two pauses: a
          // job's wall time is a fixed part (dispatch, listings, records) plus one that grows
          // with its tasks' pause, and the target is met only if both are known.
          const short = await run(executor);
          pauseMs = pauseFor(LIVENESS_TARGET_MS * (FIRST_PAUSE_MS / short.wallMs));
          if (pauseMs > FIRST_PAUSE_MS) {
            const long = await run(executor);
            const perPauseMs = (long.wallMs - short.wallMs) / (pauseMs - FIRST_PAUSE_MS);
            if (perPauseMs > 0) pauseMs = pauseFor(FIRST_PAUSE_MS + (LIVENESS_TARGET_MS - short.wallMs) / perPauseMs);
          }
          sized = true;
        }
        return await run(executor);
      } finally {
        await executor.dispose();
      }
    };
    const describeRun = (label: string, { wallMs, stats }: Timed) =>
      `${label}: ${wallMs} ms with ${pauseMs} ms tasks, ${stats.invocations.attempts} invocations (${stats.invocations.planned} planned, ${stats.invocations.retried} retried, ${stats.invocations.backups} backups, ${stats.waiting.resentLost} re-sent as lost, ${stats.waiting.suspectBackups} backed up as stalled)`;

    conformanceTest(
      resolved,
      `${DROPPED_SHARE * 100}% of asynchronous invocations silently dropped: every result exactly once, within ${LIVENESS_SLOWDOWN}x the fault-free job`,
      { timeoutMs: 600_000, requires },
      async () => {
        const clean = await baseline();
        const faulty = withFaults(setup.plugin, { compute: { droppedShare: DROPPED_SHARE, seed: resolved.seed } });
        const executor = await group.connect({ compute: faulty });
        let dropped: Timed;
        try {
          await run(executor);
          dropped = await run(executor);
        } finally {
          await executor.dispose();
        }
        console.info(`${describeRun('fault-free', clean)}\n${describeRun('dropped', dropped)}`);
        expect(faulty.injectedFaults().compute.dropped, 'invocations dropped').toBeGreaterThan(0);
        expect(dropped.stats.waiting.resentLost, 'invocations re-sent as lost').toBeGreaterThan(0);
        expect(dropped.wallMs, `wall time with drops, against ${LIVENESS_SLOWDOWN}x the fault-free ${clean.wallMs} ms`).toBeLessThanOrEqual(LIVENESS_SLOWDOWN * clean.wallMs);
      },
    );

    conformanceTest(
      resolved,
      `${100 / CRASH_EVERY}% of tasks crash their asynchronous worker once: every result exactly once, within ${LIVENESS_SLOWDOWN}x the fault-free job`,
      { timeoutMs: 600_000, requires },
      async () => {
        const clean = await baseline();
        const executor = await group.connect();
        let crashed: Timed;
        try {
          crashed = await run(executor, await mkdtemp(join(crashRoot, 'crash-')));
        } finally {
          await executor.dispose();
        }
        console.info(`${describeRun('fault-free', clean)}\n${describeRun('crashing', crashed)}`);
        expect(crashed.stats.invocations.backups + crashed.stats.invocations.retried, 'ranges run again').toBeGreaterThan(0);
        expect(crashed.wallMs, `wall time with crashes, against ${LIVENESS_SLOWDOWN}x the fault-free ${clean.wallMs} ms`).toBeLessThanOrEqual(LIVENESS_SLOWDOWN * clean.wallMs);
      },
    );
  });
}
