import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { conformanceTest } from '../support/conformance-test.js';
import { expectSameBytes, patternBytes } from '../support/expectations.js';
import { openStorageSession } from './storage-session.js';

/** Writers started at once in the distinct-keys test. */
export const CONCURRENT_WRITERS = 100;

/**
 * Concurrency: 100 writers of distinct keys at once all land and read back; writers racing on one
 * key leave one whole body, and readers meanwhile see one whole body, never a mix.
 */
export function describeStorageConcurrency(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('storage: concurrency', () => {
    const session = openStorageSession(factory, resolved);

    conformanceTest(resolved, `${CONCURRENT_WRITERS} concurrent writers of distinct keys all land and read back intact`, { timeoutMs: 60_000 }, async () => {
      const writes = Array.from({ length: CONCURRENT_WRITERS }, (_, index) => ({
        key: session.key(`concurrency/distinct/writer-${index}`),
        body: patternBytes(4096 + index, index),
      }));
      await Promise.all(writes.map(({ key, body }) => session.storage.put(key, body)));
      const reads = await Promise.all(writes.map(({ key }) => session.storage.get(key)));
      reads.forEach((read, index) => expectSameBytes(read, writes[index]!.body, `writer ${index}'s object`));
      const listed = await session.storage.list(session.key('concurrency/distinct/'), { limit: CONCURRENT_WRITERS });
      const keys = new Set(listed.objects.map((object) => object.key));
      // A backend may return fewer than `limit`; what it returns must be ours.
      for (const key of keys) expect(writes.some((write) => write.key === key), `unexpected key ${key}`).toBe(true);
    });

    conformanceTest(resolved, 'writers racing on one key leave one whole body; readers meanwhile see one whole body, never a mix', { timeoutMs: 60_000 }, async () => {
      const key = session.key('concurrency/same-key');
      const size = 256 * 1024;
      const bodies = Array.from({ length: 10 }, (_, index) => new Uint8Array(size).fill(index + 1));
      await session.storage.put(key, new Uint8Array(size).fill(200));
      const reads: Promise<Uint8Array | undefined>[] = [];
      const writes = bodies.map(async (body, index) => {
        if (index % 2 === 0) reads.push(session.storage.get(key));
        await session.storage.put(key, body);
        reads.push(session.storage.get(key));
      });
      await Promise.all(writes);
      for (const read of await Promise.all(reads)) expectWhole(read, size);
      const final = await session.storage.get(key);
      expectWhole(final, size);
      expect(final![0], 'the final object is one of the racing bodies').not.toBe(200);
    });
  });
}

/** One body of `size` bytes, all equal: the writers' bodies are each filled with one value. */
function expectWhole(read: Uint8Array | undefined, size: number): void {
  expect(read?.byteLength, 'size of a read during the race').toBe(size);
  const first = read![0];
  expect(read!.every((byte) => byte === first), 'a read during the race mixes two bodies').toBe(true);
}
