import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ErrorCode, FanoutError, type InvocationPayloadV1 } from '@fanout/spec';
import { afterEach, describe, expect, it } from 'vitest';
import { DispatchThreadPool } from '../src/index.js';

const entry = new URL('./fixtures/scripted-compute-thread.mjs', import.meta.url);
const pools: DispatchThreadPool[] = [];

function pool(settings: Record<string, unknown> = { greeting: 'hello' }, threads = 2): DispatchThreadPool {
  const created = new DispatchThreadPool({ entry, settings, threads, name: 'scripted' });
  pools.push(created);
  return created;
}

async function started(threads: DispatchThreadPool): Promise<DispatchThreadPool> {
  threads.start();
  const deadline = Date.now() + 20_000;
  while (!threads.ready) {
    if (Date.now() > deadline) throw new Error('the dispatch threads did not come up');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return threads;
}

function payload(script: string): InvocationPayloadV1 {
  return {
    protocol: 1,
    jobId: 'job',
    attempt: 1,
    code: { key: 'code', sha256: '0'.repeat(64), exportName: script },
    tasks: { first: 0, count: 1 },
    inputs: { inline: new Uint8Array([1, 2, 3]) },
    resultKey: 'result',
    respond: true,
    timeoutMs: 1000,
  };
}

const text = (record: Uint8Array | undefined) => new TextDecoder().decode(record);

afterEach(async () => {
  await Promise.all(pools.splice(0).map((threads) => threads.dispose()));
});

describe('DispatchThreadPool', () => {
  it('is not ready before start, then runs invocations on backends built from the settings, spread over its threads', async () => {
    const threads = pool();
    expect(threads.ready).toBe(false);
    await started(threads);
    // Batches of concurrent invocations, until the second thread is up and takes its share.
    const answers = new Set<string>();
    const deadline = Date.now() + 20_000;
    while (answers.size < 2 && Date.now() < deadline) {
      const results = await Promise.all(Array.from({ length: 20 }, () => threads.invoke(payload('answer'), { mode: 'sync' })));
      for (const result of results) answers.add(result.mode === 'sync' ? text(result.record) : '');
    }
    expect([...answers].every((answer) => answer.startsWith('hello from thread'))).toBe(true);
    expect(answers.size).toBe(2);
  });

  it('rebuilds a FanoutError with every field, and keeps a TypeError a TypeError', async () => {
    const threads = await started(pool());
    const throttled = await threads.invoke(payload('throttle'), { mode: 'async' }).catch((error: unknown) => error);
    expect(FanoutError.isInstance(throttled)).toBe(true);
    expect(throttled).toMatchObject({ code: ErrorCode.THROTTLED, retryable: true, fault: 'backend', retryAfterMs: 1500, logTail: 'the tail', message: 'Rate exceeded' });
    await expect(threads.invoke(payload('mistake'), { mode: 'sync' })).rejects.toThrow(TypeError);
  });

  it('rejects with ABORTED as soon as the signal fires, and the thread stops the invocation', async () => {
    const threads = await started(pool({}, 1));
    const controller = new AbortController();
    const invocation = threads.invoke(payload('hang'), { mode: 'sync', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const error = await invocation.catch((caught: unknown) => caught);
    expect((error as FanoutError).code).toBe(ErrorCode.ABORTED);
    // The thread saw the abort, and the pool still works afterwards.
    expect(text(((await threads.invoke(payload('abortsSeen'), { mode: 'sync' })) as { record: Uint8Array }).record)).toBe('1');
  });

  it('lets the process exit after aborting the last invocation in flight, without dispose', async () => {
    const script = fileURLToPath(new URL('./fixtures/abort-then-exit.mjs', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 });
    expect(stdout.trim()).toBe(ErrorCode.ABORTED);
  });

  it('fails the invocations of a thread that dies with a retryable BACKEND_UNAVAILABLE, and starts a new thread', async () => {
    const threads = await started(pool({ greeting: 'again' }, 1));
    const error = await threads.invoke(payload('die'), { mode: 'sync' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    expect(threads.ready).toBe(false);
    await started(threads);
    expect(text(((await threads.invoke(payload('answer'), { mode: 'sync' })) as { record: Uint8Array }).record)).toContain('again');
  });

  it('replaces a thread that fails with an uncaught exception after it was ready', async () => {
    const threads = await started(pool({ greeting: 'replaced' }, 1));
    const error = await threads.invoke(payload('throwLater'), { mode: 'sync' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    await started(threads);
    expect(text(((await threads.invoke(payload('answer'), { mode: 'sync' })) as { record: Uint8Array }).record)).toContain('replaced');
  });

  it('never becomes ready when its threads cannot build a backend, and stops starting new ones', async () => {
    const threads = pool({ failToStart: true }, 1);
    threads.start();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(threads.ready).toBe(false);
    threads.start();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(threads.ready).toBe(false);
    await expect(threads.invoke(payload('answer'), { mode: 'sync' })).rejects.toThrow(TypeError);
  });

  it('fails what is in flight with DISPOSED on dispose', async () => {
    const threads = await started(pool());
    const invocation = threads.invoke(payload('hang'), { mode: 'sync' }).catch((caught: unknown) => caught);
    await threads.dispose();
    expect(((await invocation) as FanoutError).code).toBe(ErrorCode.DISPOSED);
  });
});
