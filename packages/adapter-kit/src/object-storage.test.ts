import type { ByteRange, StorageCapabilitiesV1, StorageObjectInfo, StorageReferenceV1 } from '@fanout/spec';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { emptyStream, ObjectStorageBase, type ObjectListPage } from './object-storage.js';

/**
 * The smallest store the base can sit on: objects in a map, every primitive call recorded, so
 * that what the base does before and instead of a request can be seen.
 */
class MapStore extends ObjectStorageBase {
  readonly name = 'map';
  readonly capabilities: StorageCapabilitiesV1 = { conditionalCreate: true, listPageSize: 2, maxObjectBytes: 1024, streaming: true };
  readonly reference: StorageReferenceV1 = { module: 'map-store', options: {} };
  readonly objects = new Map<string, Uint8Array>();
  readonly calls: string[] = [];
  closed = 0;

  constructor(prefix?: unknown, deleteBatchSize = 2, bucket: unknown = 'b') {
    super({ className: 'MapStore', label: 'map storage', bucketNoun: 'the map', bucket, prefix, root: (bucket) => `map://${bucket}/`, listPageSize: 2, deleteBatchSize, deleteConcurrency: 1 });
  }

  protected async readObject(name: string, range: ByteRange | undefined): Promise<Uint8Array | undefined> {
    this.calls.push(`read ${name}${range ? ` ${range.start}-${range.end ?? ''}` : ''}`);
    return this.objects.get(name)?.slice(range?.start ?? 0, range?.end);
  }
  protected async openObject(name: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    this.calls.push(`open ${name}`);
    return this.objects.has(name) ? emptyStream() : undefined;
  }
  protected async statObject(name: string): Promise<Omit<StorageObjectInfo, 'key'> | undefined> {
    this.calls.push(`stat ${name}`);
    const bytes = this.objects.get(name);
    return bytes && { size: bytes.byteLength };
  }
  protected async writeObject(name: string, body: Uint8Array, contentType: string): Promise<void> {
    this.calls.push(`write ${name} ${contentType}`);
    this.objects.set(name, body);
  }
  protected async writeObjectStream(name: string, body: AsyncIterable<Uint8Array>): Promise<void> {
    this.calls.push(`write-stream ${name}`);
    const parts: Uint8Array[] = [];
    for await (const part of body) parts.push(part);
    this.objects.set(name, new Uint8Array(Buffer.concat(parts)));
  }
  protected async createObject(name: string, body: Uint8Array): Promise<boolean> {
    this.calls.push(`create ${name}`);
    if (this.objects.has(name)) return false;
    this.objects.set(name, body);
    return true;
  }
  protected async deleteObjects(names: string[]): Promise<void> {
    this.calls.push(`delete ${names.join(',')}`);
    for (const name of names) this.objects.delete(name);
  }
  protected async listObjects(namePrefix: string, limit: number, token: string | undefined): Promise<ObjectListPage> {
    this.calls.push(`list ${namePrefix} ${limit} ${token ?? '-'}`);
    const names = [...this.objects.keys()].filter((name) => name.startsWith(namePrefix)).sort();
    const start = token === undefined ? 0 : Number(token);
    const next = start + limit < names.length ? String(start + limit) : undefined;
    return { objects: names.slice(start, start + limit).map((key) => ({ key, size: this.objects.get(key)!.byteLength })), token: next };
  }
  protected close(): void {
    this.closed += 1;
  }
}

const bytes = (text: string) => new TextEncoder().encode(text);

describe('ObjectStorageBase', () => {
  it('refuses a missing bucket and a prefix without its slash, naming the class', () => {
    expect(() => new MapStore(undefined, 2, '')).toThrow(new TypeError('MapStore needs settings.bucket, the map to keep objects in.'));
    expect(() => new MapStore('team')).toThrow(new TypeError('MapStore settings.prefix must be empty or end with "/", got "team".'));
  });

  it('keeps every object under the prefix and gives keys back without it', async () => {
    const store = new MapStore('team/');
    await store.put('jobs/a', bytes('1'));
    expect(await store.create('jobs/a', bytes('2')), 'a second create loses').toBe(false);
    expect([...store.objects.keys()]).toEqual(['team/jobs/a']);
    expect(await store.head('jobs/a')).toEqual({ key: 'jobs/a', size: 1 });
    expect((await store.list('jobs/')).objects).toEqual([{ key: 'jobs/a', size: 1 }]);
    expect(store.calls).toContain('write team/jobs/a application/octet-stream');
  });

  it('checks keys and ranges before any request', async () => {
    const store = new MapStore();
    await expect(store.get('../x')).rejects.toMatchObject({ code: 'STORAGE_KEY_INVALID' });
    await expect(store.get('a', { range: { start: -1 } })).rejects.toThrow(TypeError);
    await expect(store.delete(['a', '/b'])).rejects.toMatchObject({ code: 'STORAGE_KEY_INVALID' });
    await expect(store.list('x', { limit: 0 })).rejects.toThrow(TypeError);
    expect(store.calls).toEqual([]);
  });

  it('answers an empty range from the object\'s metadata, without reading it', async () => {
    const store = new MapStore();
    await store.put('a', bytes('abc'));
    expect(await store.get('a', { range: { start: 2, end: 2 } })).toEqual(new Uint8Array(0));
    expect(await store.get('missing', { range: { start: 1, end: 0 } })).toBeUndefined();
    expect(await store.getStream('missing', { range: { start: 1, end: 1 } })).toBeUndefined();
    expect(store.calls.filter((call) => call.startsWith('read'))).toEqual([]);
    expect(await store.get('a', { range: { start: 1 } })).toEqual(bytes('bc'));
  });

  it('sends a stream body to the streaming upload and bytes to the plain one', async () => {
    const store = new MapStore();
    await store.put('s', (async function* () {
      yield bytes('ab');
      yield bytes('c');
    })());
    expect(await store.get('s')).toEqual(bytes('abc'));
    expect(store.calls[0]).toBe('write-stream s');
  });

  it('deletes distinct keys in batches of the store\'s size', async () => {
    const store = new MapStore('p/', 2);
    for (const key of ['a', 'b', 'c']) await store.put(key, bytes(key));
    await store.delete(['a', 'b', 'a', 'c']);
    expect(store.calls.filter((call) => call.startsWith('delete'))).toEqual(['delete p/a,p/b', 'delete p/c']);
    expect(store.objects.size).toBe(0);
  });

  it('pages with cursors that carry the prefix, and refuses a cursor from another listing', async () => {
    const store = new MapStore();
    for (const key of ['x/1', 'x/2', 'x/3', 'y/1']) await store.put(key, bytes(key));
    const first = await store.list('x/');
    expect(first.objects.map(({ key }) => key)).toEqual(['x/1', 'x/2']);
    const second = await store.list('x/', { cursor: first.cursor! });
    expect(second).toEqual({ objects: [{ key: 'x/3', size: 3 }] });
    await expect(store.list('y/', { cursor: first.cursor! })).rejects.toThrow(/is not a cursor MapStore.list returned for the prefix "y\/"/);
    await expect(store.list('x/', { cursor: 'garbage' })).rejects.toThrow(TypeError);
  });

  it('refuses every call after dispose() with DISPOSED, and closes once', async () => {
    const store = new MapStore();
    await store.dispose();
    await store.dispose();
    expect(store.closed).toBe(1);
    const error = await store.get('a').catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.DISPOSED)).toBe(true);
    expect((error as Error).message).toBe('The map storage was used after dispose(). Create a new one.');
    await expect(store.list('')).rejects.toThrow(/after dispose/);
    await expect(store.delete(['a'])).rejects.toThrow(/after dispose/);
  });
});
