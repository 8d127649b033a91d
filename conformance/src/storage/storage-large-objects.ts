import { createHash, randomFillSync } from 'node:crypto';
import { ErrorCode } from '@fanout/spec';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { capability, conformanceTest } from '../support/conformance-test.js';
import { expectFanoutError, expectSameBytes } from '../support/expectations.js';
import { MemoryWatch } from '../support/memory.js';
import { openStorageSession, readStorageDeclaration } from './storage-session.js';

/** Size of the large object: larger than any buffer a streaming backend should need. */
export const LARGE_OBJECT_BYTES = 64 * 2 ** 20;

/**
 * How much client memory may grow while 64 MiB stream through. Generous: a streaming backend
 * holds a few chunks (a multipart upload may hold one part of 5 to 16 MiB); a buffering one holds
 * all 64 MiB.
 */
export const STREAMING_MEMORY_BOUND_BYTES = 48 * 2 ** 20;

const CHUNK_BYTES = 2 ** 20;
/** Collect garbage every this many chunks, so that chunks already written do not count. */
const COLLECT_EVERY_CHUNKS = 4;

/**
 * A 64 MiB object written from a generator body and read back with `getStream`, with the client's
 * memory (resident set and array buffers) growing less than {@link STREAMING_MEMORY_BOUND_BYTES}
 * (requires `capabilities.streaming`, and a `maxObjectBytes` of at least 64 MiB); and, where the
 * declared `maxObjectBytes` is small enough to build, an object of exactly that size is stored and
 * one byte more is refused with `PAYLOAD_TOO_LARGE`.
 */
export function describeStorageLargeObjects(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('storage: large objects', async () => {
    const declared = await readStorageDeclaration(factory);
    const session = openStorageSession(factory, resolved);
    const requires = [
      capability('streaming', declared.capabilities.streaming),
      capability('maxObjectBytes ≥ 64 MiB', declared.capabilities.maxObjectBytes >= LARGE_OBJECT_BYTES),
    ];

    conformanceTest(resolved, 'a 64 MiB object streams in through put and out through getStream with bounded client memory', { timeoutMs: 120_000, requires, behaviour: 'large-objects' }, async () => {
      expect(typeof session.storage.getStream, 'a backend that declares streaming has getStream()').toBe('function');
      const key = session.key('large/object.bin');
      const chunkCount = LARGE_OBJECT_BYTES / CHUNK_BYTES;
      const written = createHash('sha256');
      let tail = new Uint8Array(0);
      const writing = new MemoryWatch();
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let index = 0; index < chunkCount; index += 1) {
          // A fresh buffer per chunk: the backend may still hold earlier chunks while it writes.
          const chunk = randomFillSync(Buffer.allocUnsafe(CHUNK_BYTES));
          written.update(chunk);
          if (index === chunkCount - 1) tail = Uint8Array.from(chunk.subarray(CHUNK_BYTES - 100));
          writing.sample(index % COLLECT_EVERY_CHUNKS === 0);
          yield chunk;
        }
      }
      await session.storage.put(key, body());
      writing.sample(true);
      expect(writing.peak.arrayBuffers, `writing 64 MiB: ${writing.describe()}`).toBeLessThan(STREAMING_MEMORY_BOUND_BYTES);
      expect(writing.peak.rss, `writing 64 MiB: ${writing.describe()}`).toBeLessThan(STREAMING_MEMORY_BOUND_BYTES);
      expect((await session.storage.head(key))?.size).toBe(LARGE_OBJECT_BYTES);

      const reading = new MemoryWatch();
      const read = createHash('sha256');
      let readBytes = 0;
      let collectAt = 0;
      const stream = await session.storage.getStream!(key);
      expect(stream, 'getStream of the object just written').toBeDefined();
      for await (const chunk of stream!) {
        read.update(chunk);
        readBytes += chunk.byteLength;
        const collect = readBytes >= collectAt;
        if (collect) collectAt += COLLECT_EVERY_CHUNKS * CHUNK_BYTES;
        reading.sample(collect);
      }
      reading.sample(true);
      expect(readBytes).toBe(LARGE_OBJECT_BYTES);
      expect(read.digest('hex'), 'SHA-256 of the bytes streamed back').toBe(written.digest('hex'));
      expect(reading.peak.arrayBuffers, `reading 64 MiB: ${reading.describe()}`).toBeLessThan(STREAMING_MEMORY_BOUND_BYTES);
      expect(reading.peak.rss, `reading 64 MiB: ${reading.describe()}`).toBeLessThan(STREAMING_MEMORY_BOUND_BYTES);

      const range = { start: LARGE_OBJECT_BYTES - 100, end: LARGE_OBJECT_BYTES };
      expectSameBytes(await session.storage.get(key, { range }), tail, 'the last 100 bytes, read with a range');
      await session.storage.delete([key]);
    });

    const limit = declared.capabilities.maxObjectBytes;
    const limitRequirement = { label: `a declared capabilities.maxObjectBytes of at most 64 MiB to build (declared: ${limit})`, met: limit <= LARGE_OBJECT_BYTES };
    conformanceTest(resolved, 'an object of exactly capabilities.maxObjectBytes is stored; one byte more is refused with PAYLOAD_TOO_LARGE', { timeoutMs: 120_000, requires: [limitRequirement] }, async () => {
      const key = session.key('large/at-limit.bin');
      await session.storage.put(key, new Uint8Array(limit));
      expect((await session.storage.head(key))?.size).toBe(limit);
      await session.storage.delete([key]);
      const over = session.key('large/over-limit.bin');
      await expectFanoutError(session.storage.put(over, new Uint8Array(limit + 1)), ErrorCode.PAYLOAD_TOO_LARGE);
      expect(await session.storage.head(over), 'an object over the limit was stored anyway').toBeUndefined();
    });
  });
}
