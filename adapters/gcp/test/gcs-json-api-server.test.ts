/**
 * The fake GCS JSON API against the real `@google-cloud/storage` client, over a socket. Each
 * behaviour the adapter will rely on is driven through the client. Where the client has no API for
 * something (the batch endpoint, the raw resumable protocol, exact error bodies and headers), the
 * test uses fetch against the documented wire format.
 *
 * The whole file runs with credential lookups made to fail loudly (GOOGLE_APPLICATION_CREDENTIALS
 * points at a missing file) and with the GCE metadata server redirected to a local trap that counts
 * connections. The last test checks that the trap saw none.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, CRC32C, Storage, type File } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGcsServer } from './gcs-json-api-server.js';

const PRECONDITION_FAILED = 'At least one of the pre-conditions you specified did not hold.';
const MiB = 1024 * 1024;

let server: FakeGcsServer;
let storage: Storage;
let metadataTrap: TcpServer;
let metadataProbes = 0;
const savedEnvironment = { ...process.env };

beforeAll(async () => {
  metadataTrap = createTcpServer((socket) => {
    metadataProbes += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => metadataTrap.listen(0, '127.0.0.1', resolve));
  const trapHost = `127.0.0.1:${(metadataTrap.address() as AddressInfo).port}`;
  process.env.GCE_METADATA_HOST = trapHost;
  process.env.GCE_METADATA_IP = trapHost;
  process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/fake-gcs-test-credentials.json';
  delete process.env.STORAGE_EMULATOR_HOST;

  server = await FakeGcsServer.start({ buckets: ['b', 'pages', 'order'] });
  storage = new Storage({ apiEndpoint: server.url, projectId: 'test-project' });
});

afterAll(async () => {
  await server.stop();
  await new Promise<void>((resolve) => metadataTrap.close(() => resolve()));
  process.env = savedEnvironment;
});

function client(options: ConstructorParameters<typeof Storage>[0] = {}): Storage {
  return new Storage({ apiEndpoint: server.url, projectId: 'test-project', ...options });
}

function crc32c(data: Buffer | string): string {
  const crc = new CRC32C();
  crc.update(Buffer.from(data));
  return crc.toString();
}

function md5(data: Buffer | string): string {
  return createHash('md5').update(data).digest('base64');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  return promise.then(
    () => {
      throw new Error('expected the promise to reject');
    },
    (error: unknown) => error as Record<string, unknown>,
  );
}

async function listAll(bucket: string, query: Record<string, unknown>): Promise<{ pages: string[][]; prefixes: string[] }> {
  const pages: string[][] = [];
  const prefixes: string[] = [];
  let next: Record<string, unknown> | null = { ...query, autoPaginate: false };
  while (next) {
    const [files, nextQuery, response] = (await storage.bucket(bucket).getFiles(next)) as unknown as [
      File[],
      Record<string, unknown> | null,
      { prefixes?: string[] },
    ];
    pages.push(files.map((file) => file.name));
    prefixes.push(...(response.prefixes ?? []));
    next = nextQuery;
  }
  return { pages, prefixes };
}

describe('uploads and the object resource', () => {
  it('stores a multipart upload (save with resumable: false) and answers the GCS object resource', async () => {
    const data = Buffer.from('hello, fanout');
    const file = storage.bucket('b').file('res/hello.txt');
    server.resetLog();
    await file.save(data, { resumable: false, metadata: { cacheControl: 'no-store', metadata: { origin: 'test' } } });
    expect(server.counts).toEqual({ 'objects.insert': 1 });
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/upload/storage/v1/b/b/o', status: 200 });
    expect(server.requests[0]?.query).toContain('uploadType=multipart');

    const [metadata] = await file.getMetadata();
    expect(metadata).toEqual(file.metadata);
    expect(metadata).toMatchObject({
      kind: 'storage#object',
      id: `b/res/hello.txt/${metadata.generation}`,
      selfLink: `${server.url}/storage/v1/b/b/o/res%2Fhello.txt`,
      name: 'res/hello.txt',
      bucket: 'b',
      metageneration: '1',
      contentType: 'text/plain', // the client guesses it from the name
      size: String(data.length),
      md5Hash: md5(data),
      crc32c: crc32c(data),
      storageClass: 'STANDARD',
      cacheControl: 'no-store',
      metadata: { origin: 'test' },
    });
    expect(metadata.generation).toMatch(/^\d{16}$/);
    expect(metadata.etag).toEqual(expect.any(String));
    expect(new Date(metadata.timeCreated as string).toISOString()).toBe(metadata.timeCreated);
    expect(metadata.updated).toBe(metadata.timeCreated);
    const media = await fetch(metadata.mediaLink as string);
    expect(Buffer.from(await media.arrayBuffer())).toEqual(data);
    expect(server.objects('b').get('res/hello.txt')).toMatchObject({ bytes: data, generation: metadata.generation, contentType: 'text/plain' });
  });

  it('gives each write of a name a higher generation', async () => {
    const file = storage.bucket('b').file('res/versions.bin');
    const generations: bigint[] = [];
    for (const content of ['one', 'two', 'three']) {
      await file.save(content, { resumable: false });
      generations.push(BigInt(file.metadata.generation as string));
    }
    expect(generations[1]! > generations[0]! && generations[2]! > generations[1]!).toBe(true);
  });

  it('stores an uploadType=media upload, the name given in the query', async () => {
    const data = randomBytes(1000);
    const response = await fetch(`${server.url}/upload/storage/v1/b/b/o?uploadType=media&name=${encodeURIComponent('raw/media.bin')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-fanout' },
      body: data,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ name: 'raw/media.bin', contentType: 'application/x-fanout', size: '1000', crc32c: crc32c(data) });
    const [downloaded] = await storage.bucket('b').file('raw/media.bin').download();
    expect(downloaded).toEqual(data);
  });

  it('uploads 20 MiB through createWriteStream with the default (single-request resumable) upload', async () => {
    const data = randomBytes(20 * MiB);
    const file = storage.bucket('b').file('big/default.bin');
    server.resetLog();
    await pipeline(Readable.from(chunksOf(data, 64 * 1024)), file.createWriteStream());
    expect(server.counts).toEqual({ 'objects.insert': 1, 'uploads.chunk': 1 });
    expect(server.requests[0]?.query).toContain('uploadType=resumable');
    expect(file.metadata.crc32c).toBe(crc32c(data));
    expect(server.objects('b').get('big/default.bin')?.bytes.equals(data)).toBe(true);
    const [downloaded] = await file.download(); // validated against x-goog-hash by the client
    expect(downloaded.equals(data)).toBe(true);
  });

  it('uploads 20 MiB in 8 MiB chunks, each answered 308 with the persisted range until the last', async () => {
    const data = randomBytes(20 * MiB);
    const file = storage.bucket('b').file('big/chunked.bin');
    server.resetLog();
    await pipeline(Readable.from(chunksOf(data, 64 * 1024)), file.createWriteStream({ chunkSize: 8 * MiB }));
    expect(server.requests.map((request) => `${request.operation} ${request.status}`)).toEqual([
      'objects.insert 200',
      'uploads.chunk 308',
      'uploads.chunk 308',
      'uploads.chunk 200',
    ]);
    expect(file.metadata.crc32c).toBe(crc32c(data));
    const [downloaded] = await file.download();
    expect(downloaded.equals(data)).toBe(true);
  });

  it('speaks the resumable protocol: session, chunks, status queries, retried bytes, completion, cancel', async () => {
    const start = await fetch(`${server.url}/upload/storage/v1/b/b/o?uploadType=resumable&name=raw%2Fresumable.bin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': 'application/x-test' },
      body: '{}',
    });
    expect(start.status).toBe(200);
    const session = start.headers.get('location') ?? '';
    expect(session).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/upload\/storage\/v1\/b\/b\/o\?uploadType=resumable&name=raw%2Fresumable\.bin&upload_id=\w+$/);
    const put = (range: string, body?: Buffer) => fetch(session, { method: 'PUT', headers: { 'content-range': range }, body });

    const nothingYet = await put('bytes */*');
    expect(nothingYet.status).toBe(308);
    expect(nothingYet.headers.get('range')).toBeNull();

    const first = randomBytes(256 * 1024);
    const chunk = await put('bytes 0-262143/*', first);
    expect(chunk.status).toBe(308);
    expect(chunk.headers.get('range')).toBe('bytes=0-262143');
    const resent = await put('bytes 0-262143/*', first); // a retry of a chunk the server already holds
    expect(resent.headers.get('range')).toBe('bytes=0-262143');
    const status = await put('bytes */*');
    expect([status.status, status.headers.get('range')]).toEqual([308, 'bytes=0-262143']);
    expect((await put('bytes 300000-300001/*', Buffer.alloc(2))).status).toBe(400); // a gap

    const last = Buffer.from('tail');
    const done = await put('bytes 262144-262147/262148', last);
    expect(done.status).toBe(200);
    const resource = await done.json();
    expect(resource).toMatchObject({ name: 'raw/resumable.bin', size: '262148', contentType: 'application/x-test', crc32c: crc32c(Buffer.concat([first, last])) });
    const after = await put('bytes */*');
    expect([after.status, await after.json()]).toEqual([200, resource]);

    const cancelled = await fetch(`${server.url}/upload/storage/v1/b/b/o?uploadType=resumable&name=raw%2Fcancelled.bin`, { method: 'POST' });
    const cancelledSession = cancelled.headers.get('location') ?? '';
    expect((await fetch(cancelledSession, { method: 'DELETE' })).status).toBe(499);
    expect((await fetch(cancelledSession, { method: 'PUT', headers: { 'content-range': 'bytes */*' } })).status).toBe(404);
    expect(server.objects('b').has('raw/cancelled.bin')).toBe(false);
  });

  it('rejects an upload whose declared hash does not match its data', async () => {
    const error = await rejection(
      storage.bucket('b').file('res/corrupt.bin').save('data', { resumable: false, metadata: { md5Hash: md5('other data') } }),
    );
    expect(error).toMatchObject({ code: 400 });
    expect(String(error.message)).toContain("doesn't match calculated MD5 hash");
  });
});

describe('preconditions', () => {
  it('answers 412 to a second ifGenerationMatch: 0 create, by multipart and by resumable upload', async () => {
    const file = storage.bucket('b').file('pre/once.txt');
    await file.save('first', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const multipart = await rejection(file.save('second', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }));
    expect(multipart).toBeInstanceOf(ApiError);
    expect(multipart).toMatchObject({ code: 412, message: PRECONDITION_FAILED, errors: [{ reason: 'conditionNotMet' }] });
    const resumable = await rejection(file.save('second', { preconditionOpts: { ifGenerationMatch: 0 } }));
    expect(resumable).toMatchObject({ code: 412, message: PRECONDITION_FAILED });
    expect(server.objects('b').get('pre/once.txt')?.bytes.toString()).toBe('first');
  });

  it('answers 412 with GCS error body', async () => {
    server.putObject('b', 'pre/body.txt', 'x');
    const response = await fetch(`${server.url}/upload/storage/v1/b/b/o?uploadType=media&name=pre%2Fbody.txt&ifGenerationMatch=0`, {
      method: 'POST',
      body: 'y',
    });
    expect(response.status).toBe(412);
    expect(await response.json()).toEqual({
      error: {
        code: 412,
        message: PRECONDITION_FAILED,
        errors: [{ message: PRECONDITION_FAILED, domain: 'global', reason: 'conditionNotMet', locationType: 'header', location: 'If-Match' }],
      },
    });
  });

  it('replaces exactly the generation named by ifGenerationMatch, and checks ifGenerationNotMatch and ifMetagenerationMatch', async () => {
    const file = storage.bucket('b').file('pre/replace.txt');
    await file.save('v1', { resumable: false });
    const v1 = Number(file.metadata.generation);
    await file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: v1 } });
    const v2 = Number(file.metadata.generation);
    expect(v2).toBeGreaterThan(v1);
    expect(await rejection(file.save('stale', { resumable: false, preconditionOpts: { ifGenerationMatch: v1 } }))).toMatchObject({ code: 412 });
    expect(await rejection(file.save('same', { resumable: false, preconditionOpts: { ifGenerationNotMatch: v2 } }))).toMatchObject({ code: 412 });
    await file.save('v3', { resumable: false, preconditionOpts: { ifGenerationNotMatch: v1, ifMetagenerationMatch: 1 } });
    expect(await rejection(file.save('meta', { resumable: false, preconditionOpts: { ifMetagenerationMatch: 2 } }))).toMatchObject({ code: 412 });
    expect(server.objects('b').get('pre/replace.txt')?.bytes.toString()).toBe('v3');
  });

  it('deletes only the generation named by ifGenerationMatch', async () => {
    const file = storage.bucket('b').file('pre/delete.txt');
    await file.save('a', { resumable: false });
    const first = Number(file.metadata.generation);
    await file.save('b', { resumable: false });
    expect(await rejection(file.delete({ ifGenerationMatch: first }))).toMatchObject({ code: 412 });
    await file.delete({ ifGenerationMatch: Number(file.metadata.generation) });
    expect(server.objects('b').has('pre/delete.txt')).toBe(false);
  });

  it('lets exactly one of 10 concurrent conditional creates win, by multipart and by resumable upload', async () => {
    for (const resumable of [false, true]) {
      const name = `pre/race-${resumable ? 'resumable' : 'multipart'}.txt`;
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, writer) =>
          storage.bucket('b').file(name).save(`writer ${writer}`, { resumable, preconditionOpts: { ifGenerationMatch: 0 } }),
        ),
      );
      const winners = results.flatMap((result, writer) => (result.status === 'fulfilled' ? [writer] : []));
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 412 });
      }
      expect(server.objects('b').get(name)?.bytes.toString()).toBe(`writer ${winners[0]}`);
    }
  });
});

describe('reads, existence and deletes', () => {
  beforeAll(() => {
    server.putObject('b', 'read/digits.txt', '0123456789', { contentType: 'text/plain' });
    server.putObject('b', 'read/empty.txt', '');
  });

  it('downloads whole objects, validated by the client against x-goog-hash (crc32c and md5)', async () => {
    const file = storage.bucket('b').file('read/digits.txt');
    expect((await file.download())[0].toString()).toBe('0123456789');
    expect((await file.download({ validation: 'md5' }))[0].toString()).toBe('0123456789');
    expect((await storage.bucket('b').file('read/empty.txt').download())[0]).toHaveLength(0);

    const response = await fetch(`${server.url}/storage/v1/b/b/o/read%2Fdigits.txt?alt=media`);
    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'content-type': 'text/plain',
      'content-length': '10',
      'x-goog-hash': `crc32c=${crc32c('0123456789')},md5=${md5('0123456789')}`,
      'x-goog-generation': server.objects('b').get('read/digits.txt')?.generation,
      'x-goog-metageneration': '1',
      'x-goog-stored-content-length': '10',
      'x-goog-stored-content-encoding': 'identity',
    });
  });

  it('answers ranged reads with 206 and Content-Range, and 416 for a start at or past the end', async () => {
    const file = storage.bucket('b').file('read/digits.txt');
    const range = async (options: { start?: number; end?: number }) => (await readAll(file.createReadStream(options))).toString();
    expect(await range({ start: 2, end: 5 })).toBe('2345');
    expect(await range({ start: 7 })).toBe('789');
    expect(await range({ start: 5, end: 100 })).toBe('56789');
    expect(await range({ end: -3 })).toBe('789'); // a suffix range: bytes=-3
    expect(await rejection(readAll(file.createReadStream({ start: 10 })))).toMatchObject({ code: 416 });
    expect(await rejection(readAll(file.createReadStream({ start: 12, end: 20 })))).toMatchObject({ code: 416 });
    // Choice: any range on an empty object is unsatisfiable, as GCS answers bytes=0- on one.
    const empty = storage.bucket('b').file('read/empty.txt');
    expect(await rejection(readAll(empty.createReadStream({ start: 0 })))).toMatchObject({ code: 416 });

    const partial = await fetch(`${server.url}/storage/v1/b/b/o/read%2Fdigits.txt?alt=media`, { headers: { range: 'bytes=2-5' } });
    expect([partial.status, partial.headers.get('content-range'), await partial.text()]).toEqual([206, 'bytes 2-5/10', '2345']);
    const unsatisfiable = await fetch(`${server.url}/storage/v1/b/b/o/read%2Fdigits.txt?alt=media`, { headers: { range: 'bytes=10-' } });
    expect([unsatisfiable.status, unsatisfiable.headers.get('content-range')]).toEqual([416, 'bytes */10']);
    expect(await unsatisfiable.json()).toMatchObject({ error: { code: 416, errors: [{ reason: 'requestedRangeNotSatisfiable' }] } });
  });

  it('answers 404 with GCS messages for a missing object and a missing bucket', async () => {
    const missing = storage.bucket('b').file('read/missing.txt');
    expect(await missing.exists()).toEqual([false]);
    expect(await storage.bucket('b').file('read/digits.txt').exists()).toEqual([true]);
    const error = await rejection(missing.getMetadata());
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 404, message: 'No such object: b/read/missing.txt', errors: [{ reason: 'notFound' }] });
    expect(await rejection(missing.download())).toMatchObject({ code: 404 });
    expect(await rejection(storage.bucket('no-such-bucket').file('x').getMetadata())).toMatchObject({
      code: 404,
      message: 'The specified bucket does not exist.',
    });
    expect(await rejection(storage.bucket('no-such-bucket').getFiles())).toMatchObject({ code: 404 });
  });

  it('deletes with 204, then answers 404', async () => {
    const file = storage.bucket('b').file('read/doomed.txt');
    await file.save('x', { resumable: false });
    server.resetLog();
    await file.delete();
    expect(server.requests.map((request) => `${request.operation} ${request.status}`)).toEqual(['objects.delete 204']);
    expect(await rejection(file.delete())).toMatchObject({ code: 404 });
    await file.delete({ ignoreNotFound: true });
  });

  it('logs one request per client operation', async () => {
    const file = storage.bucket('b').file('read/counted.txt');
    server.resetLog();
    await file.save('counted', { resumable: false });
    await file.getMetadata();
    await file.download();
    await file.exists();
    await storage.bucket('b').getFiles({ prefix: 'read/counted', autoPaginate: false });
    await file.delete();
    expect(server.counts).toEqual({ 'objects.insert': 1, 'objects.get': 2, 'objects.download': 1, 'objects.list': 1, 'objects.delete': 1 });
  });
});

describe('listing', () => {
  beforeAll(() => {
    for (let i = 0; i < 2500; i += 1) server.putObject('pages', `obj-${String(i).padStart(4, '0')}`, 'x');
    for (const name of ['tree/1', 'tree/2', 'tree/sub/x', 'tree/sub/y', 'tree/t/z', 'treeish']) server.putObject('b', name, 'x');
    for (let i = 0; i < 10; i += 1) server.putObject('b', `mut/${String(i).padStart(2, '0')}`, 'x');
  });

  it('pages 2,500 objects with maxResults 1000 and nextPageToken, and caps pages at 1000', async () => {
    server.resetLog();
    const { pages } = await listAll('pages', { maxResults: 1000 });
    expect(pages.map((page) => page.length)).toEqual([1000, 1000, 500]);
    expect(pages.flat()).toEqual([...server.objects('pages').keys()]);
    expect(server.counts).toEqual({ 'objects.list': 3 });
    const [byDefault] = await storage.bucket('pages').getFiles({ autoPaginate: false });
    const [capped] = await storage.bucket('pages').getFiles({ maxResults: 5000, autoPaginate: false });
    expect([byDefault.length, capped.length]).toEqual([1000, 1000]);
    const [all] = await storage.bucket('pages').getFiles(); // the client's own pagination
    expect(all).toHaveLength(2500);
  });

  it('orders names by their UTF-8 bytes', async () => {
    const names = ['a/é', 'a/a', 'a/B', '\uFFFD', '😀', 'Z', 'a'];
    for (const name of names) server.putObject('order', name, 'x');
    const { pages } = await listAll('order', {});
    expect(pages.flat()).toEqual(['Z', 'a', 'a/B', 'a/a', 'a/é', '\uFFFD', '😀']);
    // UTF-16 order differs (U+1F600 is a surrogate pair, below U+FFFD), so this checks byte order.
    expect([...names].sort()).not.toEqual(pages.flat());
  });

  it('groups names under a delimiter into prefixes, paging through items and prefixes together', async () => {
    const [files, , response] = (await storage.bucket('b').getFiles({ prefix: 'tree/', delimiter: '/', autoPaginate: false })) as unknown as [
      File[],
      unknown,
      { prefixes?: string[] },
    ];
    expect(files.map((file) => file.name)).toEqual(['tree/1', 'tree/2']);
    expect(response.prefixes).toEqual(['tree/sub/', 'tree/t/']);
    const paged = await listAll('b', { prefix: 'tree/', delimiter: '/', maxResults: 1 });
    expect(paged.pages).toEqual([['tree/1'], ['tree/2'], [], []]);
    expect(paged.prefixes).toEqual(['tree/sub/', 'tree/t/']);
  });

  it('resumes a page token correctly when objects are added and deleted between pages', async () => {
    const [first, next] = (await storage.bucket('b').getFiles({ prefix: 'mut/', maxResults: 3, autoPaginate: false })) as unknown as [
      File[],
      Record<string, unknown>,
    ];
    expect(first.map((file) => file.name)).toEqual(['mut/00', 'mut/01', 'mut/02']);
    await storage.bucket('b').file('mut/03').delete();
    server.putObject('b', 'mut/02a', 'x'); // after the cursor: listed
    server.putObject('b', 'mut/01a', 'x'); // behind the cursor: not listed
    const { pages } = await listAll('b', { ...next });
    expect(pages.flat()).toEqual(['mut/02a', 'mut/04', 'mut/05', 'mut/06', 'mut/07', 'mut/08', 'mut/09']);
  });

  it('honours startOffset and endOffset', async () => {
    const [files] = await storage.bucket('b').getFiles({ prefix: 'mut/', startOffset: 'mut/05', endOffset: 'mut/08', autoPaginate: false });
    expect(files.map((file) => file.name)).toEqual(['mut/05', 'mut/06', 'mut/07']);
  });
});

describe('compose', () => {
  it('concatenates sources into a composite object without an MD5, and checks the destination precondition', async () => {
    server.putObject('b', 'compose/a', 'hello ');
    server.putObject('b', 'compose/b', 'world');
    const [combined] = await storage.bucket('b').combine(['compose/a', 'compose/b'], 'compose/ab.txt');
    const [metadata] = await combined.getMetadata();
    expect(metadata).toMatchObject({ componentCount: 2, crc32c: crc32c('hello world'), size: '11', contentType: 'text/plain' });
    expect(metadata.md5Hash).toBeUndefined();
    expect((await combined.download())[0].toString()).toBe('hello world');
    expect(await rejection(storage.bucket('b').combine(['compose/a'], 'compose/ab.txt', { ifGenerationMatch: 0 }))).toMatchObject({ code: 412 });
  });
});

describe('batch', () => {
  const boundary = 'batch_fanout_test';
  const part = (id: string, request: string) =>
    `--${boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <${id}>\r\n\r\n${request}\r\n`;
  const postBatch = (parts: string[]) =>
    fetch(`${server.url}/batch/storage/v1`, {
      method: 'POST',
      headers: { 'content-type': `multipart/mixed; boundary=${boundary}` },
      body: `${parts.join('')}--${boundary}--\r\n`,
    });

  async function parseBatchResponse(response: Response): Promise<Array<{ contentId: string; status: number; body: string }>> {
    const responseBoundary = /boundary=([^;]+)/.exec(response.headers.get('content-type') ?? '')?.[1];
    expect(responseBoundary).toBeDefined();
    const text = await response.text();
    const parts = text.split(`--${responseBoundary}`).slice(1, -1);
    expect(text.endsWith(`--${responseBoundary}--\r\n`)).toBe(true);
    return parts.map((part) => {
      const [partHeaders = '', httpHead = '', ...body] = part.split('\r\n\r\n');
      return {
        contentId: /Content-ID: (.*)/.exec(partHeaders)?.[1] ?? '',
        status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(httpHead)?.[1]),
        body: body.join('\r\n\r\n').replace(/\r\n$/, ''),
      };
    });
  }

  it('runs sub-requests in order and answers one application/http part each, with response Content-IDs', async () => {
    server.putObject('b', 'batch/1', 'x');
    const second = server.putObject('b', 'batch/2', 'x');
    server.resetLog();
    const labels = JSON.stringify({ labels: { batched: 'yes' } });
    const response = await postBatch([
      part('item1', 'DELETE /storage/v1/b/b/o/batch%2F1 HTTP/1.1'),
      part('item2', 'DELETE /storage/v1/b/b/o/batch%2Fmissing HTTP/1.1'),
      part('item3', 'GET /storage/v1/b/b/o/batch%2F2 HTTP/1.1'),
      part('item4', `DELETE /storage/v1/b/b/o/batch%2F2?ifGenerationMatch=${Number(second.generation) - 1} HTTP/1.1`),
      part('item5', `PATCH /storage/v1/b/b HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${labels.length}\r\n\r\n${labels}`),
    ]);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/mixed; boundary=/);
    const parts = await parseBatchResponse(response);
    expect(parts.map(({ contentId, status }) => [contentId, status])).toEqual([
      ['<response-item1>', 204],
      ['<response-item2>', 404],
      ['<response-item3>', 200],
      ['<response-item4>', 412],
      ['<response-item5>', 200],
    ]);
    expect(JSON.parse(parts[1]!.body)).toMatchObject({ error: { code: 404, message: 'No such object: b/batch/missing' } });
    expect(JSON.parse(parts[2]!.body)).toMatchObject({ name: 'batch/2', generation: second.generation });
    expect(JSON.parse(parts[4]!.body)).toMatchObject({ labels: { batched: 'yes' } });
    expect(server.counts).toEqual({ batch: 1, 'objects.delete': 3, 'objects.get': 1, 'buckets.patch': 1 });
    expect(server.objects('b').has('batch/1')).toBe(false);
    expect(server.objects('b').has('batch/2')).toBe(true);
  });

  it('applies injected faults to single sub-requests', async () => {
    server.putObject('b', 'batch/3', 'x');
    server.putObject('b', 'batch/4', 'x');
    server.injectFaults({ operation: 'objects.delete', status: 503 });
    const parts = await parseBatchResponse(
      await postBatch([part('a', 'DELETE /storage/v1/b/b/o/batch%2F3 HTTP/1.1'), part('b', 'DELETE /storage/v1/b/b/o/batch%2F4 HTTP/1.1')]),
    );
    expect(parts.map((p) => p.status)).toEqual([503, 204]);
    expect(JSON.parse(parts[0]!.body)).toMatchObject({ error: { code: 503, errors: [{ reason: 'backendError' }] } });
  });

  it('refuses more than 100 sub-requests', async () => {
    const parts = Array.from({ length: 101 }, (_, i) => part(`item${i}`, `DELETE /storage/v1/b/b/o/batch%2Fx${i} HTTP/1.1`));
    const response = await postBatch(parts);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 400, errors: [{ reason: 'invalid' }] } });
  });
});

describe('buckets', () => {
  it('creates, reads, patches and deletes buckets as the client does', async () => {
    const [bucket, created] = await storage.createBucket('made-by-test');
    expect(created).toMatchObject({ kind: 'storage#bucket', name: 'made-by-test', id: 'made-by-test', metageneration: '1' });
    expect(server.requests.at(-1)?.query).toBe('project=test-project');
    expect(await rejection(storage.createBucket('made-by-test'))).toMatchObject({ code: 409, errors: [{ reason: 'conflict' }] });
    expect(await rejection(storage.createBucket('Not_A_Valid_Name'))).toMatchObject({ code: 400 });
    await storage.bucket('made-by-create').create();
    expect(await storage.bucket('made-by-create').exists()).toEqual([true]);

    const lifecycle = { rule: [{ action: { type: 'Delete' as const }, condition: { age: 1 } }] };
    await bucket.setMetadata({ labels: { team: 'fanout' }, lifecycle });
    await bucket.setMetadata({ labels: { team: null, env: 'test' } });
    const [metadata] = await bucket.getMetadata();
    expect(metadata).toMatchObject({ labels: { env: 'test' }, lifecycle, metageneration: '3' });

    await bucket.file('only.txt').save('x', { resumable: false });
    expect(await rejection(bucket.delete())).toMatchObject({ code: 409, message: 'The bucket you tried to delete is not empty.' });
    await bucket.file('only.txt').delete();
    await bucket.delete();
    expect(await bucket.exists()).toEqual([false]);
    expect(await rejection(bucket.getMetadata())).toMatchObject({ code: 404, message: 'The specified bucket does not exist.' });
  });
});

describe('unknown routes', () => {
  it('answers 404 naming the method and path', async () => {
    const response = await fetch(`${server.url}/storage/v1/b/b/o/x`, { method: 'PUT', body: '{}' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 404, message: 'The fake GCS server has no route for PUT /storage/v1/b/b/o/x' } });
    const error = await rejection(storage.bucket('b').file('x').setMetadata({ contentType: 'text/plain' }));
    expect(error).toMatchObject({ code: 404 });
    expect(String(error.message)).toContain('no route for PATCH /storage/v1/b/b/o/x');
  });
});

describe('fault injection', () => {
  beforeAll(() => {
    server.putObject('b', 'faults/x', 'x');
  });

  it('answers injected 503 and 429 errors that the client reports as ApiErrors with their codes', async () => {
    const noRetry = client({ retryOptions: { autoRetry: false } });
    const file = noRetry.bucket('b').file('faults/x');
    server.injectFaults({ operation: 'objects.get', status: 503 });
    const unavailable = await rejection(file.getMetadata());
    expect(unavailable).toBeInstanceOf(ApiError);
    expect(unavailable).toMatchObject({ code: 503, message: 'Backend Error', errors: [{ reason: 'backendError' }] });
    await file.getMetadata(); // the fault applied once

    server.injectFaults({ operation: 'objects.insert', status: 429, headers: { 'Retry-After': '1' } });
    expect(await rejection(noRetry.bucket('b').file('faults/y').save('y', { resumable: false }))).toMatchObject({
      code: 429,
      errors: [{ reason: 'rateLimitExceeded', domain: 'usageLimits' }],
    });

    server.injectFaults({ status: 429, headers: { 'Retry-After': '1' } });
    const raw = await fetch(`${server.url}/storage/v1/b/b/o/faults%2Fx`);
    expect([raw.status, raw.headers.get('retry-after')]).toEqual([429, '1']);
    expect(await raw.json()).toMatchObject({ error: { code: 429, errors: [{ reason: 'rateLimitExceeded' }] } });

    server.injectFaults({ operation: 'objects.get', status: 500, body: { error: { code: 500, message: 'custom' } } });
    expect(await rejection(file.getMetadata())).toMatchObject({ code: 500, message: 'custom' });
  });

  it('is retried through by the client when it retries', async () => {
    const retrying = client({ retryOptions: { maxRetryDelay: 0.05 } });
    server.resetLog();
    server.injectFaults({ operation: 'objects.get', status: 503, times: 2 });
    await retrying.bucket('b').file('faults/x').getMetadata();
    expect(server.requests.map((request) => request.status)).toEqual([503, 503, 200]);
  });

  it('holds requests for delayMs, so that client timeouts fire', async () => {
    const impatient = client({ timeout: 200, retryOptions: { autoRetry: false } });
    server.injectFaults({ operation: 'objects.get', delayMs: 3000 });
    const started = Date.now();
    const error = await rejection(impatient.bucket('b').file('faults/x').getMetadata());
    expect(String(error.message)).toMatch(/timeout/i);
    expect(Date.now() - started).toBeLessThan(2000);
    await impatient.bucket('b').file('faults/x').getMetadata(); // later requests are not held
  });
});

describe('credentials', () => {
  it('made no credential lookup and no request to a metadata server in this file', () => {
    expect(metadataProbes).toBe(0);
  });
});

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}
