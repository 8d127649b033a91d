import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, FanoutError, type InvocationPayloadV1 } from '@fanout/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyChildExit, WorkerProcess, type WorkerProcessOutcome } from './worker-process.js';

const entry = fileURLToPath(new URL('../test-fixtures/behaving-worker.mjs', import.meta.url));
const ADVICE = 'Raise memoryMb.';

function payload(behaviour: string, timeoutMs = 10_000): InvocationPayloadV1 {
  return { jobId: `job-${behaviour}`, behaviour, timeoutMs } as unknown as InvocationPayloadV1;
}

function errorOf(outcome: WorkerProcessOutcome) {
  if (!('error' in outcome)) throw new Error('expected an error outcome');
  return outcome;
}

describe('WorkerProcess: a worker in a supervised child', () => {
  let folder: string;
  const started: WorkerProcess[] = [];
  const ended: WorkerProcess[] = [];
  const open = (heapMb = 256) => {
    const child = new WorkerProcess({
      entry,
      label: 'test worker process',
      init: { settings: { folder }, maxResponseBytes: 1024 },
      heapMb,
      env: { PATH: process.env.PATH ?? '' },
      memoryAdvice: ADVICE,
      onEnded: (process) => ended.push(process),
    });
    started.push(child);
    return child;
  };
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'fanout-worker-process-'));
  });
  afterAll(async () => {
    for (const child of started) child.stop(new FanoutError('test over', { code: ErrorCode.DISPOSED }));
    await Promise.all(started.map((child) => child.reaped));
    await rm(folder, { recursive: true, force: true });
  });

  it('runs invocations one after another in one warm child, the record back when it is asked for', async () => {
    const child = open();
    const first = await child.run(payload('ok'), true);
    expect('record' in first && new TextDecoder().decode(first.record)).toBe('record of job-ok');
    expect(await child.run(payload('ok'), false)).toEqual({ record: undefined });
    expect(child.ended).toBe(false);
  });

  it('a worker refusal keeps its code and is marked as reported by the worker; the child stays', async () => {
    const child = open();
    const outcome = errorOf(await child.run(payload('refuse'), false));
    expect(outcome.error).toMatchObject({ code: 'CODE_INTEGRITY_FAILED', retryable: false });
    expect(outcome.reported).toBe(true);
    expect(child.ended).toBe(false);
  });

  it('process.exit and an error thrown from a timer are WORKER_CRASHED, not reported, and end the child', async () => {
    for (const behaviour of ['exit', 'throw-later']) {
      const child = open();
      const outcome = errorOf(await child.run(payload(behaviour), false));
      expect(outcome.error, behaviour).toMatchObject({ code: 'WORKER_CRASHED', retryable: true });
      expect(outcome.reported).toBe(false);
      await child.reaped;
      expect(child.ended).toBe(true);
      expect(ended).toContain(child);
    }
    expect(errorOf(await open().run(payload('exit'), false)).error.message).toContain('test worker process exited with code 7');
    const stray = errorOf(await open().run(payload('throw-later'), false)).error;
    expect(stray, "an error from the task's timer is the task's doing").toMatchObject({ fault: 'user-code', remoteName: 'Error' });
    expect(stray.message).toContain('thrown from a timer');
    expect(stray.logTail).toContain('thrown from a timer');
  });

  it('a loop that never yields is stopped at the payload timeout from the supervisor, as TIMEOUT', async () => {
    const child = open();
    const before = Date.now();
    const outcome = errorOf(await child.run(payload('loop', 500), false));
    expect(outcome.error).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(Date.now() - before).toBeLessThan(5_000);
  });

  it('a full heap is OUT_OF_MEMORY with the advice given', async () => {
    const outcome = errorOf(await open(64).run(payload('fill-heap', 60_000), false));
    expect(outcome.error).toMatchObject({ code: 'OUT_OF_MEMORY', retryable: false, fault: 'user-code' });
    expect(outcome.error.message).toContain(ADVICE);
  }, 60_000);

  it("writes a failure report with the child's storage", async () => {
    const child = open();
    expect(await child.report('report-1', new TextEncoder().encode('it crashed'))).toBe(true);
    expect(await readFile(join(folder, 'report-1'), 'utf8')).toBe('it crashed');
    expect(await child.report('no/such/folder/report', new Uint8Array(1))).toBe(false);
  });
});

describe('child exit classification', () => {
  it("recognises V8 running out of heap as OUT_OF_MEMORY, the task's fault", () => {
    const error = classifyChildExit('local worker process', ADVICE, {
      exitCode: null,
      signal: 'SIGABRT',
      stderrTail: 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory',
    });
    expect(error).toMatchObject({ code: 'OUT_OF_MEMORY', retryable: false, fault: 'user-code' });
  });

  it('reports other exits as WORKER_CRASHED with the exit code or signal and the stderr tail', () => {
    const exited = classifyChildExit('local worker process', ADVICE, { exitCode: 3, signal: null, stderrTail: 'segfault nearby' });
    expect(exited).toMatchObject({ code: 'WORKER_CRASHED', retryable: true, logTail: 'segfault nearby' });
    expect(exited.message).toContain('code 3');
    expect(classifyChildExit('local worker process', ADVICE, { exitCode: null, signal: 'SIGSEGV', stderrTail: '' }).message).toContain('SIGSEGV');
  });
});
