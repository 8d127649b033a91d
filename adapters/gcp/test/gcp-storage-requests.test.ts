/**
 * One request per storage operation, as the README promises: no bucket lookup before an object
 * call, no metadata read before a download. Counted by the JSON API fake.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { GcpStorage } from '../src/index.js';
import { FakeGcsServer } from './gcs-json-api-server.js';

const server = await FakeGcsServer.start({ buckets: ['fanout-requests'] });
afterAll(() => server.stop());
const storage = new GcpStorage({ bucket: 'fanout-requests', prefix: 'p/', endpoint: server.url, projectId: 'fanout-test' });
beforeEach(() => server.resetLog());

const bytes = new TextEncoder().encode('hello');

describe('Cloud Storage requests', () => {
  it('makes one request per operation', async () => {
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ['put', () => storage.put('a', bytes), 'objects.insert'],
      ['create', () => storage.create('b', bytes), 'objects.insert'],
      ['create (lost)', () => storage.create('b', bytes), 'objects.insert'],
      ['get', () => storage.get('a'), 'objects.download'],
      ['get (range)', () => storage.get('a', { range: { start: 1, end: 3 } }), 'objects.download'],
      ['get (missing)', () => storage.get('missing'), 'objects.download'],
      ['head', () => storage.head('a'), 'objects.get'],
      ['list', () => storage.list(''), 'objects.list'],
    ];
    for (const [name, run, operation] of cases) {
      server.resetLog();
      await run();
      expect([name, server.requests.map((request) => request.operation)]).toEqual([name, [operation]]);
    }
    server.resetLog();
    await storage.delete(['a', 'b', 'missing']);
    expect(server.counts).toEqual({ 'objects.delete': 3 });
  });

  it('writes under the prefix, and a lost conditional create leaves the first body', async () => {
    expect(await storage.create('c', bytes)).toBe(true);
    expect(await storage.create('c', new TextEncoder().encode('other'))).toBe(false);
    expect(server.objects('fanout-requests').get('p/c')?.bytes.toString()).toBe('hello');
  });

  it('classifies injected 429 and 503 answers as retryable, the first as THROTTLED with Retry-After', async () => {
    server.injectFaults({ operation: 'objects.download', status: 429, headers: { 'Retry-After': '2' } });
    await expect(storage.get('c')).rejects.toMatchObject({ code: 'THROTTLED', retryable: true, retryAfterMs: 2000 });
    server.injectFaults({ operation: 'objects.list', status: 503 });
    await expect(storage.list('')).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
    server.injectFaults({ operation: 'objects.insert', status: 403 });
    await expect(storage.put('d', bytes)).rejects.toMatchObject({ code: 'ACCESS_DENIED', retryable: false });
  });

  it('says a missing bucket is a configuration error, with the command that creates it', async () => {
    const elsewhere = new GcpStorage({ bucket: 'no-such-bucket', endpoint: server.url, projectId: 'fanout-test' });
    await expect(elsewhere.get('a')).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('gcloud storage buckets create') });
    await expect(elsewhere.head('a')).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
