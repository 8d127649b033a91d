import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Executor } from '../src/index.js';
import { describeValue, double, echo, failOnOdd, failsAtFirst, returnsFunction } from './fixtures/tasks.js';

let fanout: Executor;
let cwd: string;

beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'fanout-core-'));
  fanout = await connect({ compute: { backend: 'local', options: { workers: 2 } } }, { cwd, configFile: false, env: {} });
});

afterAll(async () => {
  await fanout?.dispose();
});

describe('map on the local backend', () => {
  it('returns typed results in input order for an imported task function', async () => {
    const job = await fanout.map(double, [1, 2, 3, 4, 5]);
    const results: number[] = await job.results();
    expect(results).toEqual([2, 4, 6, 8, 10]);
    expect(job.stats().tasks).toMatchObject({ total: 5, succeeded: 5, failed: 0, pending: 0 });
  });

  it('round-trips structured data: Uint8Array, Date, Map, Set, BigInt', async () => {
    const inputs = [new Uint8Array([1, 2, 255]), new Date(0), new Map([['a', 1]]), new Set([1, 2]), 2n ** 70n, { nested: [null, undefined] }];
    const results = await (await fanout.map(describeValue, inputs)).results();
    expect(results.map((result) => result.type)).toEqual(['Uint8Array', 'Date', 'Map', 'Set', 'bigint', 'object']);
    expect(results.map((result) => result.value)).toEqual(inputs);
  });

  it('takes each input of an iterator as it was when yielded, even one buffer refilled for every input', async () => {
    // Large enough (64 KiB) for the job object to reference arrays rather than copy them.
    function* chunks() {
      const buffer = new Uint8Array(64 * 1024);
      for (let index = 0; index < 6; index += 1) yield buffer.fill(index);
    }
    const results = await (await fanout.map(echo<Uint8Array>, chunks(), { chunkSize: 1 })).results();
    expect(results.map((bytes) => [bytes[0], bytes[bytes.length - 1]])).toEqual([0, 1, 2, 3, 4, 5].map((index) => [index, index]));
  });

  it('returns a throwing task as USER_CODE_ERROR with remote name, message, stack and index, and every other result', async () => {
    const job = await fanout.map(failOnOdd, [0, 1, 2, 3, 4]);
    const settled = await job.settled();
    expect(settled.filter((result) => result.ok).map((result) => result.ok && result.value)).toEqual([0, 2, 4]);
    const failure = settled[3]!;
    expect(failure.ok).toBe(false);
    if (failure.ok) return;
    expect(failure.error.code).toBe(ErrorCode.USER_CODE_ERROR);
    expect(failure.error.fault).toBe('user-code');
    expect(failure.error.taskIndex).toBe(3);
    expect(failure.error.remoteName).toBe('OddInputError');
    expect(failure.error.message).toContain('odd input 3');
    // Source-mapped to the user's own file and line, without the worker's frames.
    expect(failure.error.remoteStack).toMatch(/at failOnOdd \(.*fixtures\/tasks\.ts:\d+:\d+\)/);
    expect(failure.error.remoteStack).not.toContain('worker.js');
    expect(failure.error.logTail).toContain('about to fail on');
    await expect(job.results()).rejects.toMatchObject({ code: ErrorCode.USER_CODE_ERROR, taskIndex: 1 });
    // The user's own exception is not retried by default.
    expect(job.stats().invocations.retried).toBe(0);
  });

  it('retries a throwing task when the caller asks for user-code retries', async () => {
    const job = await fanout.map(failOnOdd, [1], { retries: { userCode: 2 } });
    await job.settled();
    expect(job.stats().invocations.attempts).toBe(3);
  });

  for (const mode of ['sync', 'async'] as const) {
    it(`keeps a retried task's record apart from the failure before it (${mode}), and re-attaching returns the retry's result`, async () => {
      const directory = await mkdtemp(join(cwd, 'runs-'));
      const inputs = [0, 1, 2].map((value) => ({ directory, value, failures: value }));
      const job = await fanout.map(failsAtFirst, inputs, { mode, chunkSize: 1, retries: { userCode: 2 }, timeoutMs: 20_000 });
      const started = Date.now();
      expect(await job.results()).toEqual([0, 1, 2]);
      expect(Date.now() - started, 'no retry waited for a deadline').toBeLessThan(10_000);
      expect(job.stats().invocations.attempts).toBe(1 + 2 + 3);
      const attached = await fanout.attach<number>(job.id);
      expect(await attached.results(), 'storage holds each retry under its own key').toEqual([0, 1, 2]);
      expect(attached.stats().invocations.attempts, 'nothing ran again').toBe(1 + 2 + 3);
    });
  }

  it('refuses an unserializable input with its index, before anything is stored', async () => {
    const error = await fanout.map(echo, [1, 2, () => 3]).catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.INPUT_NOT_SERIALIZABLE)).toBe(true);
    expect((error as FanoutError).taskIndex).toBe(2);
    expect((error as FanoutError).message).toContain('Input 2');
  });

  it('reports a result that cannot be serialized as RESULT_NOT_SERIALIZABLE', async () => {
    const [result] = await (await fanout.map(returnsFunction, [null])).settled();
    expect(result?.ok).toBe(false);
    expect(!result?.ok && result?.error.code).toBe(ErrorCode.RESULT_NOT_SERIALIZABLE);
    // The worker's own verdict, said once: not wrapped as "Task 0 threw FanoutError: Task 0 returned ...".
    const message = !result?.ok ? result!.error.message : '';
    expect(message).toMatch(/^Task 0 returned a value that cannot be serialized: .*[^.]\. Return plain data/);
    expect(message).not.toContain('threw');
    expect(message).not.toContain('..');
  });

  it('names a task module that does not exist, with the path given and the absolute path it looked for', async () => {
    const error = await fanout.map({ module: './no-such-tasks.ts', exportName: 'double' }, [1]).catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.BUNDLE_FAILED)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('"./no-such-tasks.ts" does not exist');
    expect(message).toContain(join(cwd, 'no-such-tasks.ts'));
    expect(message).not.toContain('install the package');
  });

  it('refuses an export the module does not have, naming it and listing what exists', async () => {
    const error = await fanout
      .map({ module: join(import.meta.dirname, 'fixtures/tasks.ts'), exportName: 'tripple' }, [1])
      .catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.EXPORT_NOT_FOUND)).toBe(true);
    expect((error as Error).message).toContain('"tripple"');
    expect((error as Error).message).toContain('double');
  });

  it('runs a task named by module and export, as the CLI does', async () => {
    const job = await fanout.map({ module: join(import.meta.dirname, 'fixtures/tasks.ts'), exportName: 'double' }, [21]);
    expect(await job.results()).toEqual([42]);
  });

  it('fails every task with USER_CODE_ERROR, without retrying, when the task module throws while loading', async () => {
    const job = await fanout.map({ module: join(import.meta.dirname, 'fixtures/throws-on-load.ts'), exportName: 'useSetting' }, [1, 2]);
    const settled = await job.settled();
    for (const result of settled) {
      expect(!result.ok && result.error.code).toBe(ErrorCode.USER_CODE_ERROR);
      expect(!result.ok && result.error.message).toContain('SETTING_THAT_IS_NOT_SET is required');
    }
    expect(job.stats().invocations.retried).toBe(0);
  });

  it('ships a self-contained inline function', async () => {
    const job = await fanout.map((value: number) => Math.sqrt(value), [9, 16]);
    expect(await job.results()).toEqual([3, 4]);
  });

  it('refuses an inline function that captures an outer variable, naming it', async () => {
    const factor = 3;
    const error = await fanout.map((value: number) => value * factor, [1]).catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.TASK_NOT_SELF_CONTAINED)).toBe(true);
    expect((error as Error).message).toContain('"factor"');
  });

  it('yields results in completion order and waits for a fraction of them', async () => {
    const job = await fanout.map(double, Array.from({ length: 20 }, (_, index) => index), { chunkSize: 1 });
    await job.wait({ until: 0.5 });
    const seen: number[] = [];
    for await (const result of job) seen.push(result.index);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });

  it('runs mapReduce', async () => {
    const { countWords, topWords } = await import('../../../examples/word-count/words.js');
    const job = await fanout.mapReduce(countWords, [['a b a'], ['b a c']], topWords);
    expect(await job.results()).toEqual([[['a', 3], ['b', 2], ['c', 1]]]);
  });

  it('rejects use after dispose with DISPOSED', async () => {
    const other = await connect({}, { cwd, configFile: false, env: {} });
    await other.dispose();
    await expect(other.map(double, [1])).rejects.toMatchObject({ code: ErrorCode.DISPOSED });
  });
});
