import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, FanoutError, type AdapterPluginV1, type ComputePluginContextV1 } from '@fanout/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type Executor } from '../src/index.js';
import localAdapter from '@fanout/adapter-local';
import { double, holdAndLog } from './fixtures/tasks.js';

let cwd: string;
const executors: Executor[] = [];

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'fanout-lanes-'));
});

afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.dispose();
});

async function open(config: Parameters<typeof connect>[0]): Promise<Executor> {
  const executor = await connect(config, { cwd, configFile: false, env: {} });
  executors.push(executor);
  return executor;
}

/** Most intervals of a `start end pid` log open at one time. */
function mostAtOnce(log: string): number {
  const events = log
    .trim()
    .split('\n')
    .flatMap((line) => {
      const [start, end] = line.split(' ').map(Number);
      return [
        [start!, 1],
        [end!, -1],
      ] as const;
    })
    // An end and a start at the same millisecond are not overlap.
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, change] of events) most = Math.max(most, (open += change));
  return most;
}

/** The local plugin under another name, its compute declaring a price per invocation. */
function pricedLocal(perInvocationUsd: number): AdapterPluginV1 {
  const local = localAdapter;
  return {
    specificationVersion: 'v1',
    name: 'priced',
    createStorage: (options, context) => local.createStorage!(options, context),
    async createCompute(options: unknown, context: ComputePluginContextV1) {
      const inner = await local.createCompute!(options, context);
      return {
        specificationVersion: 'v1',
        name: 'priced',
        capabilities: { ...inner.capabilities, prices: { perInvocationUsd } },
        invoke: (payload, invokeOptions) => inner.invoke(payload, invokeOptions),
        dispose: () => inner.dispose?.() ?? Promise.resolve(),
      };
    },
  };
}

describe('jobs over several lanes', () => {
  it('returns every result of a 2,000-task job over two lanes in order, with both lanes running tasks', async () => {
    const executor = await open({
      lanes: [
        { name: 'small', compute: { backend: 'local', options: { workers: 1 } } },
        { name: 'large', compute: { backend: 'local', options: { workers: 2 } } },
      ],
    });
    const inputs = Array.from({ length: 2000 }, (_, index) => index);
    const job = await executor.map(double, inputs);
    expect(await job.results()).toEqual(inputs.map((value) => value * 2));
    const stats = job.stats();
    expect(stats.lanes.map((lane) => lane.name)).toEqual(['small', 'large']);
    for (const lane of stats.lanes) expect(lane.tasks, `tasks on ${lane.name}`).toBeGreaterThan(0);
    expect(stats.lanes.reduce((sum, lane) => sum + lane.tasks, 0)).toBe(2000);
    expect(stats.invocations.duplicates).toBe(0);
    // Both lanes name the same folder: one storage, one job object and one code upload.
    expect(stats.storage.fixedRequests).toBe(2);
    expect(stats.costUsd).toBe(0);
  });

  it('runs a job on the lanes map() names, and refuses a name that is not configured', async () => {
    const executor = await open({ lanes: [{ name: 'a', compute: 'local' }, { name: 'b', compute: { backend: 'local', options: { workers: 1 } } }] });
    const job = await executor.map(double, [1, 2, 3], { lanes: ['b'] });
    expect(await job.results()).toEqual([2, 4, 6]);
    expect(job.stats().lanes.map((lane) => lane.name)).toEqual(['b']);
    await expect(executor.map(double, [1], { lanes: ['c'] })).rejects.toThrow(/No lane is named "c". Configured lanes: a, b/);
  });

  it('keeps two concurrent jobs on one lane within its concurrency together, counted by the workers', async () => {
    const executor = await open({ lanes: [{ name: 'shared', compute: { backend: 'local', options: { workers: 4 } }, concurrency: 2 }] });
    const log = join(cwd, 'runs.log');
    const inputs = Array.from({ length: 12 }, () => ({ log, ms: 60 }));
    const [first, second] = await Promise.all([executor.map(holdAndLog, inputs, { chunkSize: 1 }), executor.map(holdAndLog, inputs, { chunkSize: 1 })]);
    await Promise.all([first!.results(), second!.results()]);
    const runs = await readFile(log, 'utf8');
    expect(runs.trim().split('\n')).toHaveLength(24);
    expect(mostAtOnce(runs), 'tasks running at once over both jobs').toBeLessThanOrEqual(2);
    expect(mostAtOnce(runs), 'the lane was used to its cap').toBe(2);
  });

  it('stops dispatching before a budget is passed: BUDGET_EXCEEDED for the rest, finished results kept', async () => {
    const executor = await open({ plugins: [pricedLocal(0.001)], compute: 'priced', storage: 'local' });
    const job = await executor.map(double, Array.from({ length: 20 }, (_, index) => index), { chunkSize: 1, concurrency: 1, budgetUsd: 0.0055 });
    const settled = await job.settled();
    const done = settled.filter((result) => result.ok);
    expect(done.length, 'invocations the budget allowed at $0.001 each').toBe(5);
    expect(done.map((result) => result.ok && result.value)).toEqual([0, 2, 4, 6, 8]);
    const refused = settled.find((result) => !result.ok);
    expect(refused && !refused.ok && refused.error.code).toBe(ErrorCode.BUDGET_EXCEEDED);
    expect(job.stats().costUsd).toBeCloseTo(0.005, 9);
    await expect(job.results()).rejects.toSatisfy((error) => FanoutError.isInstance(error, ErrorCode.BUDGET_EXCEEDED));
  });

  it('refuses a budget on a lane that declares no prices', async () => {
    const unpriced = localAdapter;
    const executor = await open({ plugins: [{ ...unpriced, name: 'unpriced', createCompute: async (options, context) => {
      const inner = await unpriced.createCompute!(options, context);
      const { prices: _prices, ...capabilities } = inner.capabilities;
      return { ...inner, capabilities, invoke: inner.invoke.bind(inner), dispose: () => inner.dispose?.() ?? Promise.resolve() };
    } }], compute: 'unpriced', storage: 'local' });
    await expect(executor.map(double, [1], { budgetUsd: 1 })).rejects.toThrow(/budgetUsd needs prices, and lane unpriced declares none/);
  });
});
