import { Readable } from 'node:stream';
import { ErrorCode } from '@fanout/spec';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { conformanceTest, method } from '../support/conformance-test.js';
import { describeOutcome, expectFanoutError, expectPlainBytes, expectSameBytes, patternBytes, settle, utf8 } from '../support/expectations.js';
import { openStorageSession, readStorageDeclaration } from './storage-session.js';

/**
 * Put, get, head and delete; a missing key reads as `undefined`; bodies given as streams; binary
 * fidelity (every byte value, the empty object); aborted signals; use after `dispose()`.
 */
export function describeStorageBasics(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('storage: basics', async () => {
    const declared = await readStorageDeclaration(factory);
    const session = openStorageSession(factory, resolved);
    const test = (title: string, options: Parameters<typeof conformanceTest>[2], body: () => Promise<void>) =>
      conformanceTest(resolved, title, options, body);

    test('put then get returns the same bytes, as a plain Uint8Array (not a Buffer)', { timeoutMs: 10_000 }, async () => {
      const key = session.key('basics/hello.txt');
      const body = utf8('hello, fanout');
      await session.storage.put(key, body);
      const read = await session.storage.get(key);
      expectPlainBytes(read, 'get');
      expectPlainBytes(await session.storage.get(key, { range: { start: 1, end: 4 } }), 'a ranged get');
      expectSameBytes(read, body);
      if (resolved.probe) expectSameBytes(await resolved.probe.read(key), body, 'the bytes the store holds (probe)');
    });

    test('get of a missing key resolves undefined: not null, not a rejection', { timeoutMs: 10_000 }, async () => {
      const outcome = await settle(session.storage.get(session.key('basics/never-written')));
      expect(outcome.ok && outcome.value === undefined, `get of a missing key ${describeOutcome(outcome)}`).toBe(true);
    });

    test('head of a missing key resolves undefined', { timeoutMs: 10_000 }, async () => {
      const outcome = await settle(session.storage.head(session.key('basics/never-written')));
      expect(outcome.ok && outcome.value === undefined, `head of a missing key ${describeOutcome(outcome)}`).toBe(true);
    });

    test('getStream of a missing key resolves undefined', { timeoutMs: 10_000, requires: [method('getStream', declared.hasGetStream)] }, async () => {
      const outcome = await settle(session.storage.getStream!(session.key('basics/never-written')));
      expect(outcome.ok && outcome.value === undefined, `getStream of a missing key ${describeOutcome(outcome)}`).toBe(true);
    });

    test('put replaces an existing object', { timeoutMs: 10_000 }, async () => {
      const key = session.key('basics/replaced');
      await session.storage.put(key, utf8('first version, longer than the second'));
      await session.storage.put(key, utf8('second'));
      expectSameBytes(await session.storage.get(key), utf8('second'));
    });

    test('head reports the size in bytes, and any modification time in epoch milliseconds', { timeoutMs: 10_000 }, async () => {
      const key = session.key('basics/sized');
      const before = Date.now();
      await session.storage.put(key, patternBytes(1234));
      const info = await session.storage.head(key);
      expect(info?.key).toBe(key);
      expect(info?.size).toBe(1234);
      if (info?.modifiedMs !== undefined) {
        // Store clocks drift from ours; a day either way still tells milliseconds from seconds.
        expect(Math.abs(info.modifiedMs - before)).toBeLessThan(24 * 60 * 60 * 1000);
      }
    });

    test('delete removes several objects in one call and ignores keys that are absent', { timeoutMs: 10_000 }, async () => {
      const keys = [session.key('basics/delete/one'), session.key('basics/delete/two'), session.key('basics/delete/three')];
      for (const key of keys) await session.storage.put(key, utf8(key));
      await session.storage.delete([keys[0]!, keys[1]!, session.key('basics/delete/absent')]);
      expect(await session.storage.get(keys[0]!)).toBeUndefined();
      expect(await session.storage.get(keys[1]!)).toBeUndefined();
      expectSameBytes(await session.storage.get(keys[2]!), utf8(keys[2]!));
      if (resolved.probe) expect(await resolved.probe.read(keys[0]!), 'the store still holds a deleted object (probe)').toBeUndefined();
      await session.storage.delete([session.key('basics/delete/absent')]);
    });

    test('put accepts a body given as an async iterable of chunks, a Node stream or a web stream', { timeoutMs: 10_000 }, async () => {
      const chunks = [utf8('one,'), utf8('two,'), new Uint8Array(0), utf8('three')];
      const expected = utf8('one,two,three');
      async function* generate(): AsyncGenerator<Uint8Array> {
        for (const chunk of chunks) yield chunk;
      }
      const bodies: [string, AsyncIterable<Uint8Array>][] = [
        ['generator', generate()],
        ['node-stream', Readable.from(chunks.map((chunk) => Buffer.from(chunk)), { objectMode: true })],
        ['web-stream', ReadableStream.from(chunks) as unknown as AsyncIterable<Uint8Array>],
      ];
      for (const [name, body] of bodies) {
        const key = session.key(`basics/streamed-${name}`);
        await session.storage.put(key, body);
        expectSameBytes(await session.storage.get(key), expected, `the object written from a ${name}`);
      }
    });

    test('all 256 byte values round-trip unchanged', { timeoutMs: 10_000 }, async () => {
      const key = session.key('basics/every-byte');
      const body = new Uint8Array(512);
      for (let index = 0; index < body.length; index += 1) body[index] = index % 2 === 0 ? index / 2 : 255 - (index - 1) / 2;
      await session.storage.put(key, body);
      expectSameBytes(await session.storage.get(key), body);
      if (resolved.probe) expectSameBytes(await resolved.probe.read(key), body, 'the bytes the store holds (probe)');
    });

    test('an empty object is stored, read back as zero bytes (not undefined), sized 0 and listed', { timeoutMs: 10_000 }, async () => {
      const key = session.key('basics/empty/object');
      await session.storage.put(key, new Uint8Array(0));
      const read = await session.storage.get(key);
      expect(read, 'get of an empty object').toBeInstanceOf(Uint8Array);
      expect(read?.byteLength).toBe(0);
      expect((await session.storage.head(key))?.size).toBe(0);
      const page = await session.storage.list(session.key('basics/empty/'));
      expect(page.objects.map((object) => [object.key, object.size])).toEqual([[key, 0]]);
    });

    test('every operation given an already-aborted signal rejects ABORTED', { timeoutMs: 10_000, behaviour: 'abort' }, async () => {
      const key = session.key('basics/aborted');
      const controller = new AbortController();
      controller.abort();
      const signal = controller.signal;
      const { storage } = session;
      await expectFanoutError(storage.get(key, { signal }), ErrorCode.ABORTED);
      await expectFanoutError(storage.head(key, { signal }), ErrorCode.ABORTED);
      await expectFanoutError(storage.put(key, utf8('never'), { signal }), ErrorCode.ABORTED);
      await expectFanoutError(storage.delete([key], { signal }), ErrorCode.ABORTED);
      await expectFanoutError(storage.list(session.key('basics/'), { signal }), ErrorCode.ABORTED);
      if (storage.create) await expectFanoutError(storage.create(key, utf8('never'), { signal }), ErrorCode.ABORTED);
      if (storage.getStream) await expectFanoutError(storage.getStream(key, { signal }), ErrorCode.ABORTED);
      expect(await storage.get(key), 'an aborted put or create wrote the object anyway').toBeUndefined();
    });

    test('after dispose(), operations reject DISPOSED', { timeoutMs: 10_000, requires: [method('dispose', declared.hasDispose)] }, async () => {
      const storage = await factory();
      await storage.dispose!();
      await expectFanoutError(storage.get(session.key('basics/after-dispose')), ErrorCode.DISPOSED);
      await expectFanoutError(storage.put(session.key('basics/after-dispose'), utf8('never')), ErrorCode.DISPOSED);
      await expectFanoutError(storage.list(session.key('basics/')), ErrorCode.DISPOSED);
    });
  });
}
