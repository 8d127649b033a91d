import type { ByteRange } from '@fanout/spec';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment, type EmulatorGapBehaviour } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { conformanceTest, method } from '../support/conformance-test.js';
import { expectSameBytes, patternBytes } from '../support/expectations.js';
import { openStorageSession, readStorageDeclaration } from './storage-session.js';

/** Size of the object the range tests read. */
const OBJECT_BYTES = 1000;

type RangeCase = { name: string; range: ByteRange; expected: [start: number, end: number]; behaviour?: EmulatorGapBehaviour };

/** Every case names its expectation as a slice of the object: `[start, end)`. */
const cases: readonly RangeCase[] = [
  { name: 'the first bytes', range: { start: 0, end: 10 }, expected: [0, 10] },
  { name: 'bytes in the middle', range: { start: 100, end: 300 }, expected: [100, 300] },
  { name: 'the last bytes', range: { start: 990, end: OBJECT_BYTES }, expected: [990, OBJECT_BYTES] },
  { name: 'an open end (to the end of the object)', range: { start: 990 }, expected: [990, OBJECT_BYTES] },
  { name: 'an end past the end (clamped)', range: { start: 990, end: 5000 }, expected: [990, OBJECT_BYTES] },
  { name: 'the whole object from 0', range: { start: 0 }, expected: [0, OBJECT_BYTES] },
  { name: 'start equal to end (no bytes)', range: { start: 500, end: 500 }, expected: [500, 500] },
  { name: 'a start at the end (no bytes)', range: { start: OBJECT_BYTES }, expected: [0, 0], behaviour: 'range-past-end' },
  { name: 'a start past the end (no bytes)', range: { start: 2000, end: 3000 }, expected: [0, 0], behaviour: 'range-past-end' },
];

/**
 * Byte ranges through `get` (and `getStream` where present): start, middle, end, past the end,
 * and a start past the end, which reads as zero bytes rather than failing.
 */
export function describeStorageRanges(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('storage: byte ranges', async () => {
    const declared = await readStorageDeclaration(factory);
    const session = openStorageSession(factory, resolved);
    const content = patternBytes(OBJECT_BYTES);
    let written: Promise<void> | undefined;
    // Written once, by whichever test runs first, so that each case can run on its own.
    const objectKey = (): Promise<string> => {
      const key = session.key('ranges/object');
      written ??= session.storage.put(key, content);
      return written.then(() => key);
    };

    for (const { name, range, expected, behaviour } of cases) {
      const title = `get with a range of ${name} reads ${describeSlice(expected)}`;
      conformanceTest(resolved, title, { timeoutMs: 10_000, ...(behaviour ? { behaviour } : {}) }, async () => {
        const key = await objectKey();
        expectSameBytes(await session.storage.get(key, { range }), content.subarray(...expected), `get(${JSON.stringify(range)})`);
      });
    }

    for (const { name, range, expected, behaviour } of cases) {
      const title = `getStream with a range of ${name} streams ${describeSlice(expected)}`;
      const options = { timeoutMs: 10_000, requires: [method('getStream', declared.hasGetStream)], ...(behaviour ? { behaviour } : {}) };
      conformanceTest(resolved, title, options, async () => {
        const key = await objectKey();
        const stream = await session.storage.getStream!(key, { range });
        expect(stream, `getStream(${JSON.stringify(range)}) of an existing object`).toBeDefined();
        const chunks: Uint8Array[] = [];
        for await (const chunk of stream!) chunks.push(chunk);
        expectSameBytes(Buffer.concat(chunks), content.subarray(...expected), `getStream(${JSON.stringify(range)})`);
      });
    }

    conformanceTest(resolved, 'get with a range of a missing key resolves undefined', { timeoutMs: 10_000 }, async () => {
      expect(await session.storage.get(session.key('ranges/missing'), { range: { start: 0, end: 10 } })).toBeUndefined();
    });
  });
}

function describeSlice([start, end]: [number, number]): string {
  return end > start ? `bytes ${start} to ${end - 1}` : 'zero bytes';
}
