import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeValue, totalRequests } from '@fanout/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Executor } from '../src/index.js';
import { double, echo } from './fixtures/tasks.js';

// DESIGN.md §4: at most 2/c + 0.1 storage requests per task (c = tasks per invocation), at most
// 2 fixed requests per job, and nothing once the job is done; asynchronous invocations add their
// start signal, one write each, for 3/c + 0.1 (docs/decisions/0013-liveness.md). Measured by the
// request-counting wrapper on the client and reported by every worker in its record.
let fanout: Executor;

beforeAll(async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'fanout-protocol-'));
  fanout = await connect({ compute: { backend: 'local', options: { workers: 2 } } }, { cwd, configFile: false, env: {} });
});

afterAll(async () => {
  await fanout?.dispose();
});

const taskCount = 10_000;
const inputs = Array.from({ length: taskCount }, (_, index) => index);

describe.each([
  { mode: 'sync' as const, chunkSize: 'auto' as const },
  { mode: 'async' as const, chunkSize: 'auto' as const },
  { mode: 'async' as const, chunkSize: 50 },
])('a 10,000-task map in $mode mode, chunk size $chunkSize', ({ mode, chunkSize }) => {
  it('stays within the protocol targets and makes no request once done', async () => {
    const job = await fanout.map(double, inputs, { mode, chunkSize });
    const results = await job.results();
    expect(results).toHaveLength(taskCount);
    expect(results[9_999]).toBe(19_998);

    const stats = job.stats();
    const c = stats.chunkSize;
    expect(stats.mode).toBe(mode);
    expect(stats.tasks.succeeded).toBe(taskCount);
    expect(stats.storage.fixedRequests).toBeLessThanOrEqual(2);
    expect(stats.storage.requestsPerTask).toBeLessThanOrEqual((mode === 'async' ? 3 : 2) / c + 0.1);
    // The worker makes one result write per invocation (and in async mode one start signal) and
    // at most one code read per cold process; this job's inputs (about 80 KB) travel inline, so
    // it reads none from storage.
    expect(stats.storage.worker.create).toBe(stats.invocations.attempts);
    expect(stats.storage.worker.put).toBe(mode === 'async' ? stats.invocations.attempts : 0);
    expect(stats.storage.worker.get).toBeLessThanOrEqual(stats.invocations.coldStarts);
    expect(stats.storage.worker.getRange).toBe(0);

    const before = totalRequests(stats.storage.client);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(totalRequests(job.stats().storage.client)).toBe(before);
  });
});

// DESIGN.md §4: where the invocation is synchronous, storage is touched only for durability or
// for large results. With `durable: false` a small record travels in the response alone.
describe('a synchronous map with durable: false', () => {
  it('makes no storage request for small results: no record written, none read', async () => {
    const job = await fanout.map(double, inputs, { mode: 'sync', durable: false, chunkSize: 10 });
    expect(await job.results()).toEqual(inputs.map((value) => value * 2));
    const { storage, invocations } = job.stats();
    expect(storage.worker.create + storage.worker.put).toBe(0);
    expect(storage.worker.get).toBeLessThanOrEqual(invocations.coldStarts);
    // Small inputs travel inline: the workers' only reads are of the code.
    expect(storage.worker.getRange).toBe(0);
    expect(storage.totalRequests - storage.fixedRequests - storage.worker.get, 'requests for results').toBe(0);
  });

  it('still stores a record too large for the response, and reads it from there', async () => {
    // 400 KiB results: over the local backend's 256 KiB response budget.
    const large = Array.from({ length: 4 }, (_, index) => new Uint8Array(400 * 1024).fill(index));
    const job = await fanout.map(echo, large, { mode: 'sync', durable: false, chunkSize: 1 });
    expect((await job.results()).map((bytes) => bytes[0])).toEqual([0, 1, 2, 3]);
    const { storage, invocations } = job.stats();
    // One stored record per task, read back by the client (a straggler backup may add one of each).
    expect(storage.worker.create).toBeGreaterThanOrEqual(large.length);
    expect(storage.client.get).toBeGreaterThanOrEqual(large.length);
    expect(storage.worker.create).toBeLessThanOrEqual(invocations.attempts);
  });
});

// Local workers read a range of the job object from the page cache more cheaply than the client
// pipes the same bytes to them, so a job with over 1 MiB of inputs sends none inline.
describe('a map whose inputs add up to more than 1 MiB on the local backend', () => {
  it('reads every invocation\'s inputs from the job object with one ranged read', async () => {
    const large = Array.from({ length: 48 }, (_, index) => new Uint8Array(32 * 1024).fill(index));
    const job = await fanout.map(echo, large, { chunkSize: 4, concurrency: 1 });
    // The caller may reuse its arrays once map() resolves: the job object holds the inputs.
    large.forEach((bytes) => bytes.fill(255));
    const results = await job.results();
    expect(results.map((bytes) => [bytes.byteLength, bytes[0]])).toEqual(large.map((bytes, index) => [bytes.byteLength, index]));
    const { storage, invocations } = job.stats();
    expect(storage.worker.getRange).toBe(invocations.attempts);
  });

  it('leaves a job under the threshold inline, with inputs copied so the caller may reuse its arrays', async () => {
    const small = Array.from({ length: 24 }, (_, index) => new Uint8Array(32 * 1024).fill(index));
    const job = await fanout.map(echo, small, { chunkSize: 1, concurrency: 1 });
    // Most invocations go out after map() resolves, with payloads cut then.
    small.forEach((bytes) => bytes.fill(255));
    const results = await job.results();
    expect(results.map((bytes) => bytes[0])).toEqual(small.map((_, index) => index));
    expect(job.stats().storage.worker.getRange).toBe(0);
  });

  it('sends a job of exactly 1 MiB of framed inputs inline, and one a byte larger by reference', async () => {
    // Sixteen inputs framed (4-byte length, serialized Uint8Array) at exactly 64 KiB each.
    const overhead = serializeValue(new Uint8Array(60_000)).byteLength - 60_000;
    const size = 64 * 1024 - 4 - overhead;
    const exact = Array.from({ length: 16 }, (_, index) => new Uint8Array(size).fill(index));
    expect(exact.reduce((total, bytes) => total + 4 + serializeValue(bytes).byteLength, 0)).toBe(1024 * 1024);
    const atThreshold = await fanout.map(echo, exact, { chunkSize: 4 });
    await atThreshold.results();
    expect(atThreshold.stats().storage.worker.getRange).toBe(0);
    const over = [...exact.slice(0, 15), new Uint8Array(size + 1)];
    const aboveThreshold = await fanout.map(echo, over, { chunkSize: 4 });
    await aboveThreshold.results();
    expect(aboveThreshold.stats().storage.worker.getRange).toBe(aboveThreshold.stats().invocations.attempts);
  });
});
