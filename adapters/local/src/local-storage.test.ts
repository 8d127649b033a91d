import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FanoutError, type ErrorCode } from '@fanout/spec';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalStorage } from './local-storage.js';

let root: string;
let storage: LocalStorage;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'fanout-local-storage-'));
  storage = new LocalStorage({ root });
});

afterEach(async () => {
  await storage.dispose();
  await rm(root, { recursive: true, force: true });
});

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FanoutError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(FanoutError.isInstance(error), `expected a FanoutError ${code}, got ${String(error)}`).toBe(true);
  expect((error as FanoutError).code).toBe(code);
  return error as FanoutError;
}

async function listAll(prefix: string, limit?: number): Promise<{ keys: string[]; pages: number }> {
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

const byteOrder = (left: string, right: string) => Buffer.compare(Buffer.from(left), Buffer.from(right));

describe('LocalStorage objects', () => {
  it('reads back what was put, and replaces it on a second put', async () => {
    await storage.put('data/part-0001.json', bytes('first'));
    expect(text(await storage.get('data/part-0001.json'))).toBe('first');
    await storage.put('data/part-0001.json', bytes('second'));
    expect(text(await storage.get('data/part-0001.json'))).toBe('second');
    expect(await storage.get('data/part-0001.json')).toBeInstanceOf(Uint8Array);
  });

  it('returns undefined for a missing key, a key below an object, and a key that is only a folder', async () => {
    await storage.put('a/b', bytes('x'));
    expect(await storage.get('missing')).toBeUndefined();
    expect(await storage.get('a/b/c')).toBeUndefined();
    expect(await storage.get('a')).toBeUndefined();
    expect(await storage.head('a')).toBeUndefined();
    expect(await storage.getStream('a')).toBeUndefined();
    expect(await storage.get('a', { range: { start: 0 } })).toBeUndefined();
  });

  it('reports size and modification time from head', async () => {
    const before = Date.now();
    await storage.put('sized', bytes('12345'));
    const info = await storage.head('sized');
    expect(info?.key).toBe('sized');
    expect(info?.size).toBe(5);
    expect(info?.modifiedMs).toBeGreaterThanOrEqual(before - 1000);
  });

  it('reads byte ranges: end exclusive, clamped, empty past the end', async () => {
    await storage.put('range', bytes('0123456789'));
    expect(text(await storage.get('range', { range: { start: 2, end: 5 } }))).toBe('234');
    expect(text(await storage.get('range', { range: { start: 7 } }))).toBe('789');
    expect(text(await storage.get('range', { range: { start: 8, end: 100 } }))).toBe('89');
    expect(await storage.get('range', { range: { start: 10 } })).toEqual(new Uint8Array(0));
    expect(await storage.get('range', { range: { start: 50, end: 60 } })).toEqual(new Uint8Array(0));
    expect(await storage.get('range', { range: { start: 4, end: 4 } })).toEqual(new Uint8Array(0));
    await expect(storage.get('range', { range: { start: -1 } })).rejects.toBeInstanceOf(TypeError);
  });

  it('lets exactly one of 50 concurrent creates win, and keeps the winner', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, index) => storage.create('jobs/j/results/0', bytes(`writer-${index}`))),
    );
    const winners = results.flatMap((created, index) => (created ? [index] : []));
    expect(winners).toHaveLength(1);
    expect(text(await storage.get('jobs/j/results/0'))).toBe(`writer-${winners[0]}`);
    expect(await storage.create('jobs/j/results/0', bytes('late'))).toBe(false);
    expect(text(await storage.get('jobs/j/results/0'))).toBe(`writer-${winners[0]}`);
  });

  it('deletes objects, ignores missing keys, and removes folders left empty', async () => {
    await storage.put('jobs/j1/results/0', bytes('a'));
    await storage.put('jobs/j1/results/1', bytes('b'));
    await storage.put('jobs/keep', bytes('c'));
    await storage.delete(['jobs/j1/results/0', 'jobs/j1/results/1', 'never/there', 'jobs/keep/below']);
    expect(await storage.get('jobs/j1/results/0')).toBeUndefined();
    expect(existsSync(join(root, 'objects', 'jobs', 'j1'))).toBe(false);
    expect(text(await storage.get('jobs/keep'))).toBe('c');
    // A later write into the pruned folder works.
    await storage.put('jobs/j1/results/2', bytes('d'));
    expect(text(await storage.get('jobs/j1/results/2'))).toBe('d');
  });

  it('refuses a key that is also the folder of another key', async () => {
    await storage.put('a', bytes('file'));
    await expectCode(storage.put('a/b', bytes('x')), 'STORAGE_KEY_INVALID');
    await expectCode(storage.create('a/b', bytes('x')), 'STORAGE_KEY_INVALID');
    await storage.put('folder/inner', bytes('x'));
    await expectCode(storage.put('folder', bytes('x')), 'STORAGE_KEY_INVALID');
    await expectCode(storage.create('folder', bytes('x')), 'STORAGE_KEY_INVALID');
  });

  it('refuses unsafe keys with STORAGE_KEY_INVALID before touching the folder', async () => {
    for (const key of ['..', '../escape', '/etc/passwd', 'a//b', 'a/./b', '', 'back\\slash']) {
      await expectCode(storage.put(key, bytes('x')), 'STORAGE_KEY_INVALID');
      await expectCode(storage.get(key), 'STORAGE_KEY_INVALID');
      await expectCode(storage.create(key, bytes('x')), 'STORAGE_KEY_INVALID');
      await expectCode(storage.head(key), 'STORAGE_KEY_INVALID');
      await expectCode(storage.delete(['fine', key]), 'STORAGE_KEY_INVALID');
    }
    await expectCode(storage.list('a//'), 'STORAGE_KEY_INVALID');
    await expectCode(storage.list('../'), 'STORAGE_KEY_INVALID');
    expect(existsSync(join(root, 'objects'))).toBe(false);
  });

  it('rejects with ABORTED when the signal has fired, and with DISPOSED after dispose', async () => {
    const controller = new AbortController();
    controller.abort();
    const { signal } = controller;
    await expectCode(storage.put('k', bytes('x'), { signal }), 'ABORTED');
    await expectCode(storage.get('k', { signal }), 'ABORTED');
    await expectCode(storage.list('', { signal }), 'ABORTED');
    await expectCode(storage.delete(['k'], { signal }), 'ABORTED');
    await storage.dispose();
    await expectCode(storage.get('k'), 'DISPOSED');
    await expectCode(storage.put('k', bytes('x')), 'DISPOSED');
  });

  it('exposes a reference another process can reopen it from', () => {
    expect(storage.reference).toEqual({ module: '@fanout/adapter-local', options: { root } });
  });
});

describe('LocalStorage listing', () => {
  it('pages through 2,500 keys in order with an opaque cursor', async () => {
    const keys = Array.from({ length: 2500 }, (_, index) => `jobs/big/results/${index}`);
    for (let start = 0; start < keys.length; start += 250) {
      await Promise.all(keys.slice(start, start + 250).map((key) => storage.put(key, bytes(key))));
    }
    await storage.put('jobs/other/x', bytes('not listed'));
    const first = await storage.list('jobs/big/');
    expect(first.objects).toHaveLength(1000);
    expect(first.cursor).toBeTypeOf('string');
    expect(first.objects[0]).toMatchObject({ key: 'jobs/big/results/0', size: Buffer.byteLength('jobs/big/results/0') });
    const { keys: listed, pages } = await listAll('jobs/big/');
    expect(pages).toBe(3);
    expect(listed).toEqual([...keys].sort(byteOrder));
    const small = await listAll('jobs/big/results/1', 300);
    expect(small.keys).toEqual(keys.filter((key) => key.startsWith('jobs/big/results/1')).sort(byteOrder));
  }, 30_000);

  it('orders keys by UTF-8 bytes, across folder boundaries', async () => {
    // JavaScript string order puts the emoji (a surrogate pair) before U+FF5E; UTF-8 puts it after.
    // "a-b" < "a/x" < "a0" because "-" < "/" < "0".
    const keys = ['a0', 'a/x', 'a/y/z', 'a-b', 'b', 'A', 'a\uff5e', 'a\u{1f600}', 'aé', 'a/x0'];
    for (const key of keys) await storage.put(key, bytes(key));
    const expected = [...keys].sort(byteOrder);
    expect(expected.indexOf('a\uff5e')).toBeLessThan(expected.indexOf('a\u{1f600}'));
    expect((await listAll('')).keys).toEqual(expected);
    expect((await listAll('', 1)).keys).toEqual(expected);
    expect((await listAll('', 3)).keys).toEqual(expected);
  });

  it('treats the prefix as a string prefix, not only a folder', async () => {
    for (const key of ['jobs/ab', 'jobs/abc/x', 'jobs/ab-1', 'jobs/a', 'jobs/b/ab', 'jobsab']) await storage.put(key, bytes(key));
    expect((await listAll('jobs/ab')).keys).toEqual(['jobs/ab', 'jobs/ab-1', 'jobs/abc/x']);
    expect((await listAll('jobs/')).keys).toEqual(['jobs/a', 'jobs/ab', 'jobs/ab-1', 'jobs/abc/x', 'jobs/b/ab']);
    expect((await listAll('jobs')).keys).toHaveLength(6);
    expect((await listAll('nothing/here/')).keys).toEqual([]);
  });

  it('never lists a write in progress', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    async function* slowBody() {
      yield bytes('half');
      await gate;
      yield bytes(' and the rest');
    }
    const writing = storage.put('inflight/object', slowBody());
    // Wait until the temporary file exists.
    for (let attempt = 0; attempt < 100 && !(await readdir(join(root, 'tmp')).catch(() => [])).length; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await readdir(join(root, 'tmp'))).length).toBe(1);
    expect((await storage.list('')).objects).toEqual([]);
    expect(await storage.get('inflight/object')).toBeUndefined();
    release();
    await writing;
    expect((await storage.list('')).objects.map((object) => object.key)).toEqual(['inflight/object']);
    expect(text(await storage.get('inflight/object'))).toBe('half and the rest');
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('refuses a cursor it did not make, or one from a listing of another prefix', async () => {
    await expect(storage.list('', { cursor: '!!not a cursor' })).rejects.toBeInstanceOf(TypeError);
    for (const key of ['jobs/a', 'jobs/b', 'results/a', 'results/b']) await storage.put(key, bytes(key));
    const jobs = await storage.list('jobs/', { limit: 1 });
    expect(jobs.cursor).toBeTypeOf('string');
    await expect(storage.list('results/', { cursor: jobs.cursor! })).rejects.toThrow('for the prefix "results/"');
  });
});

describe('LocalStorage streaming', () => {
  it('streams a 64 MiB object in and out, and streams byte ranges', async () => {
    const chunkBytes = 1024 * 1024;
    const chunkCount = 64;
    const written = createHash('sha256');
    async function* body() {
      for (let index = 0; index < chunkCount; index += 1) {
        const chunk = new Uint8Array(chunkBytes).fill(index);
        written.update(chunk);
        yield chunk;
      }
    }
    await storage.put('big/object', body());
    expect((await storage.head('big/object'))?.size).toBe(chunkBytes * chunkCount);

    const stream = await storage.getStream('big/object');
    expect(stream).toBeDefined();
    const read = createHash('sha256');
    let total = 0;
    for await (const chunk of stream!) {
      read.update(chunk);
      total += chunk.byteLength;
    }
    expect(total).toBe(chunkBytes * chunkCount);
    expect(read.digest('hex')).toBe(written.digest('hex'));

    const rangeStart = 3 * chunkBytes - 2;
    const ranged = await storage.getStream('big/object', { range: { start: rangeStart, end: rangeStart + 4 } });
    const parts: Uint8Array[] = [];
    for await (const chunk of ranged!) parts.push(chunk);
    expect([...Buffer.concat(parts)]).toEqual([2, 2, 3, 3]);
    const direct = await storage.get('big/object', { range: { start: rangeStart, end: rangeStart + 4 } });
    expect([...direct!]).toEqual([2, 2, 3, 3]);
  }, 30_000);

  it('stops a stream when its signal fires', async () => {
    await storage.put('stream/abort', new Uint8Array(4 * 1024 * 1024));
    const controller = new AbortController();
    const stream = await storage.getStream('stream/abort', { signal: controller.signal });
    const reading = (async () => {
      for await (const chunk of stream!) {
        void chunk;
        controller.abort();
      }
    })();
    await expectCode(reading, 'ABORTED');
  });
});
