import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@fanout/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Executor } from '../src/index.js';
import { exhaustMemoryOnThree, exitOnThree, hangOnThree } from './fixtures/tasks.js';

// Small heaps make running out of memory quick; one invocation per task keeps attempts countable.
let fanout: Executor;

beforeAll(async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'fanout-faults-'));
  fanout = await connect({ compute: { backend: 'local', options: { workers: 2, memoryMb: 64 } } }, { cwd, configFile: false, env: {} });
});

afterAll(async () => {
  await fanout?.dispose();
});

const inputs = [0, 1, 2, 3, 4, 5, 6, 7];

describe('worker failures end in classified errors, never a hang', () => {
  it('a task that calls process.exit fails WORKER_CRASHED after its crash retries; the rest complete', async () => {
    // Chunks of 4: the crashing chunk is halved, and its half again, until only task 3 is retried and fails.
    // No straggler backups, so the attempts are exactly the ones the retry policy makes.
    const job = await fanout.map(exitOnThree, inputs, { chunkSize: 4, retries: { crash: 2 }, backups: false });
    const settled = await job.settled();
    expect(settled.filter((result) => result.ok)).toHaveLength(7);
    const failed = settled[3]!;
    expect(!failed.ok && failed.error.code).toBe(ErrorCode.WORKER_CRASHED);
    expect(!failed.ok && failed.error.taskIndex).toBe(3);
    const stats = job.stats();
    // 2 planned chunks, 2 halves (0-1, 2-3), 2 quarters of the crashing half (2, 3), 2 retries of task 3.
    expect(stats.invocations.attempts).toBe(2 + 4 + 2);
  });

  it('a task that runs out of memory fails OUT_OF_MEMORY and is not retried (it would fail again)', async () => {
    const job = await fanout.map(exhaustMemoryOnThree, inputs, { chunkSize: 1, backups: false });
    const settled = await job.settled();
    expect(settled.filter((result) => result.ok)).toHaveLength(7);
    const failed = settled[3]!;
    expect(!failed.ok && failed.error.code).toBe(ErrorCode.OUT_OF_MEMORY);
    expect(job.stats().invocations.attempts).toBe(8);
  });

  it('a task that never returns fails TIMEOUT after its timeout retry; the rest complete', async () => {
    const started = Date.now();
    const job = await fanout.map(hangOnThree, inputs, { chunkSize: 1, timeoutMs: 500, retries: { timeout: 1 }, backups: false });
    const settled = await job.settled({ timeoutMs: 20_000 });
    expect(settled.filter((result) => result.ok)).toHaveLength(7);
    const failed = settled[3]!;
    expect(!failed.ok && failed.error.code).toBe(ErrorCode.TIMEOUT);
    expect(job.stats().invocations.attempts).toBe(9);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
