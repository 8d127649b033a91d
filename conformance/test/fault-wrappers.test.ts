import { ErrorCode, FanoutError, PROTOCOL_VERSION, type ComputeBackendV1, type InvocationPayloadV1 } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { FaultInjectingCompute, FaultInjectingStorage, withFaults } from '../src/index.js';
import { MemoryStorage } from './fixtures/memory-storage.js';

const bytes = new TextEncoder().encode('x');

function payload(attempt = 1): InvocationPayloadV1 {
  return {
    protocol: PROTOCOL_VERSION,
    jobId: 'job',
    attempt,
    code: { key: 'code/x.mjs', sha256: '0'.repeat(64), exportName: 'default' },
    tasks: { first: 0, count: 1 },
    inputs: { inline: new Uint8Array(0) },
    resultKey: 'results/x',
    respond: true,
    timeoutMs: 1000,
  };
}

/** A compute that answers at once and counts what it ran. */
function countingCompute(): ComputeBackendV1 & { ran: number } {
  const compute = {
    specificationVersion: 'v1' as const,
    name: 'counting',
    capabilities: { syncInvoke: true, asyncInvoke: true },
    ran: 0,
    async invoke(_payload: InvocationPayloadV1, options: { mode: 'sync' | 'async' }) {
      compute.ran += 1;
      return options.mode === 'sync' ? { mode: 'sync' as const, record: new Uint8Array(1) } : { mode: 'async' as const };
    },
  };
  return compute;
}

async function failures(storage: FaultInjectingStorage, requests: number): Promise<string[]> {
  const codes: string[] = [];
  for (let index = 0; index < requests; index += 1) {
    await storage.put(`k/${index}`, bytes).catch((error: unknown) => codes.push(`${index}:${(error as FanoutError).code}`));
  }
  return codes;
}

describe('FaultInjectingStorage', () => {
  it('fails a seeded share of requests with retryable BACKEND_UNAVAILABLE, the same ones for the same seed', async () => {
    const first = new FaultInjectingStorage(new MemoryStorage(), { unavailableShare: 0.2, seed: 7 });
    const second = new FaultInjectingStorage(new MemoryStorage(), { unavailableShare: 0.2, seed: 7 });
    const failed = await failures(first, 200);
    expect(failed).toEqual(await failures(second, 200));
    expect(failed.length).toBeGreaterThan(20);
    expect(failed.length).toBeLessThan(60);
    expect(first.counts).toMatchObject({ requests: 200, unavailable: failed.length, timeouts: 0, byOperation: { put: failed.length } });
    const error = await first.get('k/0').then(() => undefined, (reason: unknown) => reason);
    if (error) expect(FanoutError.isInstance(error, ErrorCode.BACKEND_UNAVAILABLE) && error.retryable).toBe(true);
  });

  it('times out after the delay, applying some of the writes it reports as failed', async () => {
    const inner = new MemoryStorage();
    const storage = new FaultInjectingStorage(inner, { timeoutShare: 1, timeoutDelayMs: 5, seed: 3 });
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, index) => storage.put(`t/${index}`, bytes)));
    expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
    const landed = (await inner.list('t/')).objects.length;
    expect(storage.counts.timeouts).toBe(40);
    expect(landed).toBe(storage.counts.appliedBeforeTimeout);
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(40);
  });

  it('injects only into the chosen operations, and keeps the inner capabilities, reference and optional methods', async () => {
    const storage = new FaultInjectingStorage(new MemoryStorage(), { unavailableShare: 1, operations: ['list'] });
    await storage.put('a', bytes);
    expect(await storage.create!('a', bytes)).toBe(false);
    await expect(storage.list('')).rejects.toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE });
    expect(storage.capabilities).toEqual(new MemoryStorage().capabilities);
    expect(storage.getStream).toBeUndefined();
    expect(storage.reference).toBeUndefined();
  });
});

describe('FaultInjectingStorage schedules', () => {
  it('never lets a planned fault go unseen for more than twice its expected gap', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const storage = new FaultInjectingStorage(new MemoryStorage(), { unavailableShare: 0.05, seed });
      const failed = (await failures(storage, 400)).map((entry) => Number(entry.split(':')[0]));
      const gaps = failed.map((index, position) => index - (position ? failed[position - 1]! : -1));
      expect(Math.max(...gaps, 400 - failed.at(-1)!), `seed ${seed}`).toBeLessThanOrEqual(40);
    }
  });

  it('with oncePerKey fails each key once and lets its retry through', async () => {
    const storage = new FaultInjectingStorage(new MemoryStorage(), { unavailableShare: 1, operations: ['put'], oncePerKey: true });
    await expect(storage.put('a', bytes)).rejects.toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE });
    await storage.put('a', bytes);
    await expect(storage.put('b', bytes)).rejects.toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE });
    expect(storage.counts.unavailable).toBe(2);
  });

  it('refuses every chosen request during an outage, and none after it', async () => {
    const storage = new FaultInjectingStorage(new MemoryStorage(), { operations: ['get'], outage: { afterRequests: 2, durationMs: 50 } });
    await storage.put('a', bytes);
    expect(await storage.get('a')).toBeDefined();
    await expect(storage.get('a')).rejects.toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    await storage.put('b', bytes);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await storage.get('a')).toBeDefined();
    expect(storage.counts.byOperation).toEqual({ get: 1 });
  });
});

describe('FaultInjectingCompute', () => {
  it('throttles with retryAfterMs, drops, duplicates and crashes, counting each', async () => {
    const inner = countingCompute();
    const compute = new FaultInjectingCompute(inner, { throttledShare: 1, retryAfterMs: 77 });
    await expect(compute.invoke(payload(), { mode: 'sync' })).rejects.toMatchObject({ code: ErrorCode.THROTTLED, retryAfterMs: 77, retryable: true });
    expect(inner.ran).toBe(0);

    const dropping = new FaultInjectingCompute(inner, { droppedShare: 1 });
    expect(await dropping.invoke(payload(), { mode: 'async' })).toEqual({ mode: 'async' });
    const controller = new AbortController();
    const hung = dropping.invoke(payload(), { mode: 'sync', signal: controller.signal });
    controller.abort();
    await expect(hung).rejects.toMatchObject({ code: ErrorCode.ABORTED });
    expect(inner.ran).toBe(0);

    const duplicating = new FaultInjectingCompute(inner, { duplicateShare: 1 });
    await duplicating.invoke(payload(), { mode: 'sync' });
    expect(inner.ran).toBe(2);

    const crashing = new FaultInjectingCompute(inner, { crashShare: 1, seed: 11 });
    const crashes = await Promise.allSettled(Array.from({ length: 20 }, () => crashing.invoke(payload(), { mode: 'sync' })));
    expect(crashes.every((outcome) => outcome.status === 'rejected' && FanoutError.isInstance(outcome.reason, ErrorCode.WORKER_CRASHED))).toBe(true);
    expect(inner.ran - 2).toBe(crashing.counts.crashedAfterRunning);
    expect(crashing.counts).toMatchObject({ invocations: 20, crashed: 20 });
  });

  it('delays stragglers, and an abort during the delay runs nothing', async () => {
    const inner = countingCompute();
    const compute = new FaultInjectingCompute(inner, { stragglerShare: 1, stragglerDelayMs: 60_000 });
    const controller = new AbortController();
    const waiting = compute.invoke(payload(), { mode: 'sync', signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.ABORTED });
    expect(inner.ran).toBe(0);
    expect(compute.counts.straggled).toBe(1);
  });

  it('with firstAttemptOnly leaves retries alone', async () => {
    const inner = countingCompute();
    const compute = new FaultInjectingCompute(inner, { unavailableShare: 1, firstAttemptOnly: true });
    await expect(compute.invoke(payload(1), { mode: 'sync' })).rejects.toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    await compute.invoke(payload(2), { mode: 'sync' });
    expect(inner.ran).toBe(1);
  });
});

describe('withFaults', () => {
  it('wraps the backends a plugin makes, keeps its name, drops its module, and sums what they injected', async () => {
    const inner = countingCompute();
    const plugin = withFaults(
      { specificationVersion: 'v1', name: 'memory', module: 'memory-adapter', createStorage: () => new MemoryStorage(), createCompute: () => inner },
      { storage: { unavailableShare: 1 }, compute: { throttledShare: 1 } },
    );
    expect(plugin.name).toBe('memory');
    expect(plugin.module).toBeUndefined();
    const context = { configPath: 'storage.options', baseDirectory: '.' };
    const storage = await plugin.createStorage!({}, context);
    const compute = await plugin.createCompute!({}, { ...context, configPath: 'compute.options', storage, storageReference: undefined });
    await expect(storage.get('a')).rejects.toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE });
    await expect(compute.invoke(payload(), { mode: 'sync' })).rejects.toMatchObject({ code: ErrorCode.THROTTLED });
    expect(plugin.injectedFaults()).toMatchObject({ total: 2, storage: { unavailable: 1 }, compute: { throttled: 1, invocations: 1 } });
  });
});
