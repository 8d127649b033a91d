import { randomUUID } from 'node:crypto';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../test/redis-server.js';
import { parseRedisStorageOptions } from './redis-options.js';
import { MAX_OBJECT_BYTES, RedisStorage } from './redis-storage.js';

let server: RedisServer;
const opened: RedisStorage[] = [];

beforeAll(async () => {
  server = await startRedisServer();
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((storage) => storage.dispose()));
});

afterAll(async () => {
  await server?.stop();
});

/** A storage in a namespace of its own, so tests never see each other's keys. */
function openStorage(namespace = `test-${randomUUID()}`): RedisStorage {
  const storage = new RedisStorage(parseRedisStorageOptions({ url: server.url, namespace }, { configPath: 'storage.options', baseDirectory: process.cwd() }));
  opened.push(storage);
  return storage;
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const byteOrder = (left: string, right: string) => Buffer.compare(Buffer.from(left), Buffer.from(right));

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FanoutError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(FanoutError.isInstance(error), `expected a FanoutError ${code}, got ${String(error)}`).toBe(true);
  expect((error as FanoutError).code).toBe(code);
  return error as FanoutError;
}

async function listAll(storage: RedisStorage, prefix: string, limit?: number): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await storage.list(prefix, { ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }) });
    pages += 1;
    keys.push(...page.objects.map((object) => object.key));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { keys, pages };
}

describe('RedisStorage objects', () => {
  it('stores every byte value unchanged and returns plain Uint8Arrays', async () => {
    const storage = openStorage();
    const allBytes = Uint8Array.from({ length: 512 }, (_, index) => index % 256);
    await storage.put('binary', allBytes);
    const read = await storage.get('binary');
    expect(read?.constructor).toBe(Uint8Array);
    expect(read).toEqual(allBytes);
    await storage.put('binary', bytes('second'));
    expect(text(await storage.get('binary'))).toBe('second');
  });

  it('returns undefined for missing keys from get, ranged get and head, and stores empty objects', async () => {
    const storage = openStorage();
    expect(await storage.get('missing')).toBeUndefined();
    expect(await storage.get('missing', { range: { start: 0, end: 0 } })).toBeUndefined();
    expect(await storage.get('missing', { range: { start: 2 } })).toBeUndefined();
    expect(await storage.head('missing')).toBeUndefined();
    await storage.put('empty', new Uint8Array(0));
    expect(await storage.get('empty')).toEqual(new Uint8Array(0));
    expect(await storage.get('empty', { range: { start: 0 } })).toEqual(new Uint8Array(0));
    expect((await storage.head('empty'))?.size).toBe(0);
  });

  it('reads byte ranges with an exclusive end, clamped, and empty at or past the end', async () => {
    const storage = openStorage();
    await storage.put('range', bytes('0123456789'));
    const read = async (start: number, end?: number) => text(await storage.get('range', { range: end === undefined ? { start } : { start, end } }));
    expect(await read(0, 3)).toBe('012');
    expect(await read(3)).toBe('3456789');
    expect(await read(8, 100)).toBe('89');
    expect(await read(9, 10)).toBe('9');
    expect(await read(10)).toBe('');
    expect(await read(25, 30)).toBe('');
    expect(await read(4, 4)).toBe('');
    expect(await read(6, 2)).toBe('');
    // Regression guard: GETRANGE's end is inclusive, and end 0 would become -1, "the last byte".
    expect(await read(0, 0)).toBe('');
    expect(await read(0, 1)).toBe('0');
    await expect(storage.get('range', { range: { start: -1 } })).rejects.toThrow(TypeError);
  });

  it('reports size and modification time from head', async () => {
    const storage = openStorage();
    const before = Date.now();
    await storage.put('sized', bytes('12345'));
    const info = await storage.head('sized');
    expect(info).toMatchObject({ key: 'sized', size: 5 });
    expect(info?.modifiedMs).toBeGreaterThanOrEqual(before);
    expect(info?.modifiedMs).toBeLessThanOrEqual(Date.now());
  });

  it('accepts a stream body and refuses one larger than a Redis string without buffering it', async () => {
    const storage = openStorage();
    async function* chunks(count: number, chunk: Uint8Array) {
      for (let index = 0; index < count; index += 1) yield chunk;
    }
    await storage.put('streamed', chunks(3, bytes('ab')));
    expect(text(await storage.get('streamed'))).toBe('ababab');
    // The same 64 MiB chunk over and over: the size check must fire before anything is concatenated.
    const chunk = new Uint8Array(64 * 1024 * 1024);
    const error = await expectCode(storage.put('huge', chunks(MAX_OBJECT_BYTES / chunk.byteLength + 1, chunk)), ErrorCode.PAYLOAD_TOO_LARGE);
    expect(error.fault).toBe('caller');
    expect(await storage.head('huge')).toBeUndefined();
  });

  it('deletes in batches, ignores absent keys, and drops deleted keys from listings', async () => {
    const storage = openStorage();
    const keys = Array.from({ length: 1200 }, (_, index) => `many/${String(index).padStart(4, '0')}`);
    await Promise.all(keys.map((key) => storage.put(key, bytes('x'))));
    await storage.delete([...keys.slice(0, 1100), 'never-written', keys[0]!]);
    expect((await listAll(storage, 'many/')).keys).toEqual(keys.slice(1100));
    expect(await storage.get(keys[0]!)).toBeUndefined();
    await storage.delete([]);
  });

  it('refuses unsafe keys before touching Redis, the whole delete batch included', async () => {
    const storage = openStorage();
    await storage.put('kept', bytes('x'));
    for (const key of ['', '/absolute', 'a//b', '../up', 'a/./b', 'back\\slash', 'tab\tkey']) {
      await expectCode(storage.put(key, bytes('x')), ErrorCode.STORAGE_KEY_INVALID);
    }
    await expectCode(storage.delete(['kept', '../up']), ErrorCode.STORAGE_KEY_INVALID);
    expect(text(await storage.get('kept'))).toBe('x');
  });

  it('keeps namespaces apart on one server', async () => {
    const first = openStorage();
    const second = openStorage();
    await first.put('shared/name', bytes('first'));
    expect(await second.get('shared/name')).toBeUndefined();
    expect((await second.list('')).objects).toEqual([]);
  });
});

describe('RedisStorage create', () => {
  it('lets exactly one of 50 concurrent creates over 5 connections win, and leaves the winner untouched', async () => {
    const namespace = `test-${randomUUID()}`;
    const connections = Array.from({ length: 5 }, () => openStorage(namespace));
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, index) => connections[index % connections.length]!.create('results/race', bytes(`writer-${index}`))),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes.indexOf(true);
    expect(text(await connections[0]!.get('results/race'))).toBe(`writer-${winner}`);
    const listed = await connections[1]!.list('results/');
    expect(listed.objects.map((object) => object.key)).toEqual(['results/race']);
    expect(listed.objects[0]?.size).toBe(`writer-${winner}`.length);
  });

  it('returns false over an existing object and keeps its bytes and time; put still replaces it', async () => {
    const storage = openStorage();
    expect(await storage.create('once', bytes('first'))).toBe(true);
    const firstTime = (await storage.head('once'))?.modifiedMs;
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await storage.create('once', bytes('second'))).toBe(false);
    expect(text(await storage.get('once'))).toBe('first');
    expect((await storage.head('once'))?.modifiedMs).toBe(firstTime);
    await storage.put('once', bytes('third'));
    expect(text(await storage.get('once'))).toBe('third');
  });
});

describe('RedisStorage list', () => {
  // Chosen so that UTF-16 order (JavaScript's default sort) and UTF-8 byte order disagree:
  // U+FF61 sorts after the emoji's surrogates in UTF-16 and before its 4-byte sequence in UTF-8.
  const keys = ['a', 'a-b', 'a/b', 'a/b/c', 'a0', 'ab', 'Z', 'é', '日本/語', '\uff61', '😀', 'z'];

  it('lists in ascending UTF-8 byte order, not JavaScript string order', async () => {
    const storage = openStorage();
    await Promise.all(keys.map((key) => storage.put(key, bytes(key))));
    const expected = [...keys].sort(byteOrder);
    expect(expected).not.toEqual([...keys].sort());
    expect((await listAll(storage, '')).keys).toEqual(expected);
    expect((await listAll(storage, '', 1)).keys).toEqual(expected);
  });

  it('lists exactly the keys starting with a prefix, whole segment or not', async () => {
    const storage = openStorage();
    await Promise.all(keys.map((key) => storage.put(key, bytes(key))));
    expect((await listAll(storage, 'a/')).keys).toEqual(['a/b', 'a/b/c']);
    expect((await listAll(storage, 'a')).keys).toEqual(['a', 'a-b', 'a/b', 'a/b/c', 'a0', 'ab']);
    expect((await listAll(storage, '日本/')).keys).toEqual(['日本/語']);
    expect((await listAll(storage, 'nothing/')).keys).toEqual([]);
  });

  it('pages with a cursor, and the last full page carries no cursor', async () => {
    const storage = openStorage();
    const pageKeys = Array.from({ length: 6 }, (_, index) => `page/${index}`);
    await Promise.all(pageKeys.map((key) => storage.put(key, bytes('12'))));
    expect(await listAll(storage, 'page/', 3)).toEqual({ keys: pageKeys, pages: 2 });
    expect(await listAll(storage, 'page/', 4)).toEqual({ keys: pageKeys, pages: 2 });
    const first = await storage.list('page/', { limit: 2 });
    expect(first.objects[0]).toMatchObject({ key: 'page/0', size: 2 });
    expect(first.objects[0]?.modifiedMs).toEqual(expect.any(Number));
    // A cursor is only valid for the prefix it came from.
    await expect(storage.list('other/', { cursor: first.cursor! })).rejects.toThrow(TypeError);
    await expect(storage.list('page/', { limit: 0 })).rejects.toThrow(TypeError);
  });

  it('resumes after the cursor key even when keys were written or deleted between pages', async () => {
    const storage = openStorage();
    await Promise.all(['log/1', 'log/3', 'log/5'].map((key) => storage.put(key, bytes('x'))));
    const first = await storage.list('log/', { limit: 1 });
    await storage.delete(['log/1']);
    await storage.put('log/2', bytes('x'));
    const resumed = await storage.list('log/', { cursor: first.cursor! });
    expect(resumed.objects.map((object) => object.key)).toEqual(['log/2', 'log/3', 'log/5']);
  });
});

describe('RedisStorage lifecycle', () => {
  it('rejects every call after dispose with DISPOSED, and dispose twice is fine', async () => {
    const storage = openStorage();
    await storage.put('before', bytes('x'));
    await storage.dispose();
    await storage.dispose();
    await expectCode(storage.get('before'), ErrorCode.DISPOSED);
    await expectCode(storage.put('after', bytes('x')), ErrorCode.DISPOSED);
    await expectCode(storage.list(''), ErrorCode.DISPOSED);
    await expectCode(storage.delete(['before']), ErrorCode.DISPOSED);
  });

  it('rejects with ABORTED for a signal that already fired, without writing', async () => {
    const storage = openStorage();
    const controller = new AbortController();
    controller.abort();
    await expectCode(storage.put('aborted', bytes('x'), { signal: controller.signal }), ErrorCode.ABORTED);
    await expectCode(storage.list('', { signal: controller.signal }), ErrorCode.ABORTED);
    expect(await storage.head('aborted')).toBeUndefined();
  });
});
