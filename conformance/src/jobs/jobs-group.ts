import { serialize } from 'node:v8';
import { ErrorCode, type Executor } from '@fanout/core';
import { describe, expect } from 'vitest';
import { computeFactoryFromAdapter, type AdapterSetup } from '../factories.js';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import { readComputeDeclaration } from '../compute/compute-session.js';
import { capability, conformanceTest } from '../support/conformance-test.js';
import { expectFanoutError, patternBytes } from '../support/expectations.js';
import { collectResults, expectEveryResultOnce, openJobGroup, withPayloadBudget } from './job-session.js';
import { invertBytes, square, squareUnlessMultipleOfSeven, sum } from './job-tasks.js';

/** The size of a job's inputs as the job object frames them: each serialized, behind a 4-byte length. */
function framedInputBytes(inputs: readonly unknown[]): number {
  return inputs.reduce<number>((total, input) => total + 4 + serialize(input).byteLength, 0);
}

/** Tasks in the map and mapReduce jobs. */
export const JOB_TASKS = 1000;

/** Large-object job: this many tasks of {@link LARGE_TASK_BYTES} in and out. */
const LARGE_TASKS = 20;
const LARGE_TASK_BYTES = 2 ** 20;

/** The declared budget the ranged-input job lowers the backend's to, and the input size that exceeds it. */
const LOWERED_BUDGET_BYTES = 128 * 1024;
const RANGED_INPUT_BYTES = 256 * 1024;

/**
 * Whole jobs through core on the adapter: a map of 1,000 tasks in each declared mode, within the
 * protocol's request targets; small results from synchronous responses alone; re-attaching to a
 * finished job; mapReduce; 1 MiB inputs and outputs; inputs beyond the payload budget read with
 * byte ranges; a task that throws.
 */
export function describeJobs(setup: AdapterSetup, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('jobs: through core', async () => {
    const declared = await readComputeDeclaration(computeFactoryFromAdapter(setup));
    const group = openJobGroup(setup, resolved);
    let shared: Promise<Executor> | undefined;
    const executor = () => (shared ??= group.connect());
    const within = resolved.scaled(120_000);
    const inputs = Array.from({ length: JOB_TASKS }, (_, index) => index);

    for (const mode of ['sync', 'async'] as const) {
      const requires = [capability(`${mode}Invoke`, mode === 'sync' ? declared.capabilities.syncInvoke : declared.capabilities.asyncInvoke)];

      conformanceTest(resolved, `a map of ${JOB_TASKS} tasks in ${mode} mode delivers every result once, and results() lists them in input order`, { timeoutMs: 180_000, requires }, async () => {
        const job = await (await executor()).map(square, inputs, { mode });
        expectEveryResultOnce(await collectResults(job, within), JOB_TASKS, (index) => index * index);
        expect(await job.results()).toEqual(inputs.map((index) => index * index));
        expect(job.stats().state).toBe('succeeded');
      });

      conformanceTest(resolved, `a ${JOB_TASKS}-task job in ${mode} mode stays within the protocol's storage request targets`, { timeoutMs: 180_000, requires }, async () => {
        const job = await (await executor()).map(square, inputs, { mode });
        await job.results({ timeoutMs: within });
        const stats = job.stats();
        const perInvocation = stats.chunkSize;
        expect(stats.storage.fixedRequests, 'fixed requests per job (code upload and job object)').toBeLessThanOrEqual(2);
        expect(stats.storage.requestsPerTask, `storage requests per task with ${perInvocation} tasks per invocation`).toBeLessThanOrEqual(2 / perInvocation + 0.1);
      });
    }

    conformanceTest(
      resolved,
      `a ${JOB_TASKS}-task job in sync mode with durable: false gets its small results from the responses alone: no storage request for results`,
      { timeoutMs: 180_000, requires: [capability('syncInvoke', declared.capabilities.syncInvoke)] },
      async () => {
        const job = await (await executor()).map(square, inputs, { mode: 'sync', durable: false });
        expect(await job.results({ timeoutMs: within })).toEqual(inputs.map((index) => index * index));
        const { storage, invocations } = job.stats();
        const { client, worker } = storage;
        expect({ put: worker.put, create: worker.create, head: worker.head, list: worker.list, delete: worker.delete }, 'record writes and other requests by the workers').toEqual({
          put: 0,
          create: 0,
          head: 0,
          list: 0,
          delete: 0,
        });
        expect(worker.get, 'code reads: at most one per cold container').toBeLessThanOrEqual(invocations.coldStarts);
        // Inputs travel inline, unless the backend declares that its workers read even a job this
        // small from the job object: then one ranged read per invocation.
        const inputReads = (declared.capabilities.storedInputsAboveBytes ?? Number.POSITIVE_INFINITY) < framedInputBytes(inputs) ? invocations.attempts : 0;
        expect(worker.getRange, 'ranged input reads').toBe(inputReads);
        // The client: at most the job's fixed requests (code upload check, job object), no record read or listing.
        expect({ get: client.get, getRange: client.getRange, list: client.list }, 'record reads and listings by the client').toEqual({ get: 0, getRange: 0, list: 0 });
      },
    );

    conformanceTest(resolved, 'a finished job re-attached from another executor returns every result from storage, invoking nothing', { timeoutMs: 180_000 }, async () => {
      const job = await (await executor()).map(square, inputs);
      await job.results({ timeoutMs: within });
      const other = await group.connect();
      try {
        const before = await other.inspect(job.id);
        expect(before.tasks.succeeded, 'tasks whose record storage lists').toBe(JOB_TASKS);
        const attached = await other.attach<number>(job.id);
        expect(await attached.results({ timeoutMs: within })).toEqual(inputs.map((index) => index * index));
        expect(attached.stats().invocations.attempts, 'invocations: those recorded in storage, and no new one').toBe(before.invocations.attempts);
      } finally {
        await other.dispose();
      }
    });

    conformanceTest(resolved, `mapReduce over ${JOB_TASKS} tasks reduces every mapped value once`, { timeoutMs: 180_000 }, async () => {
      const job = await (await executor()).mapReduce(square, inputs, sum);
      const expected = inputs.reduce((total, index) => total + index * index, 0);
      expect(await job.results({ timeoutMs: within })).toEqual([expected]);
    });

    conformanceTest(resolved, `${LARGE_TASKS} tasks with 1 MiB inputs and 1 MiB outputs come back intact`, { timeoutMs: 180_000 }, async () => {
      const large = Array.from({ length: LARGE_TASKS }, (_, index) => patternBytes(LARGE_TASK_BYTES, index));
      const job = await (await executor()).map(invertBytes, large);
      expectEveryResultOnce(await collectResults(job, within), LARGE_TASKS, (index) => large[index]!.map((byte) => 255 - byte));
    });

    conformanceTest(resolved, 'inputs beyond the declared payload budget reach the workers as one ranged read of the job object per invocation', { timeoutMs: 180_000 }, async () => {
      const lowered = await group.connect({ compute: withPayloadBudget(setup.plugin, LOWERED_BUDGET_BYTES) });
      const large = Array.from({ length: 8 }, (_, index) => patternBytes(RANGED_INPUT_BYTES, index));
      const job = await lowered.map(invertBytes, large, { chunkSize: 1 });
      const collected = await collectResults(job, within);
      const stats = job.stats();
      await lowered.dispose();
      expectEveryResultOnce(collected, large.length, (index) => large[index]!.map((byte) => 255 - byte));
      expect(stats.storage.worker.getRange, 'ranged input reads the workers reported').toBeGreaterThanOrEqual(stats.invocations.planned);
    });

    conformanceTest(resolved, 'a task that throws fails alone, with USER_CODE_ERROR, its remote name, stack and task index', { timeoutMs: 120_000 }, async () => {
      const values = Array.from({ length: 20 }, (_, index) => index + 1);
      const job = await (await executor()).map(squareUnlessMultipleOfSeven, values);
      const settled = await job.settled({ timeoutMs: within });
      expect(settled.filter((result) => result.ok).map((result) => result.index)).toEqual(values.flatMap((value, index) => (value % 7 === 0 ? [] : [index])));
      for (const index of [6, 13]) {
        const result = settled[index];
        expect(result?.ok).toBe(false);
        if (result?.ok !== false) continue;
        expect({ code: result.error.code, remoteName: result.error.remoteName, taskIndex: result.error.taskIndex }).toEqual({
          code: ErrorCode.USER_CODE_ERROR,
          remoteName: 'RangeError',
          taskIndex: index,
        });
        expect(result.error.remoteStack, 'the remote stack names the task').toContain('squareUnlessMultipleOfSeven');
      }
      await expectFanoutError(job.results(), ErrorCode.USER_CODE_ERROR);
    });
  });
}
