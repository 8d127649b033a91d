import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { classifyRequest, startWireFaultProxy, type WireFaultPlan } from '../src/index.js';

/** What the upstream saw of each request. */
type Seen = { method: string; url: string; headers: IncomingHttpHeaders; sha256: string; bytes: number };

/** An upstream that answers GET /big with 1 MiB, HEAD with headers only, anything else with a small JSON echo. */
async function startUpstream(): Promise<{ endpoint: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const big = Buffer.alloc(1024 * 1024, 7);
  const server = createServer(async (incoming, answer) => {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of incoming) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).byteLength;
    }
    seen.push({ method: incoming.method!, url: incoming.url!, headers: incoming.headers, sha256: hash.digest('hex'), bytes });
    if (incoming.method === 'HEAD') return void answer.writeHead(200, { 'Content-Length': String(big.byteLength) }).end();
    if (incoming.url?.endsWith('/big')) return void answer.writeHead(200, { 'Content-Length': String(big.byteLength) }).end(big);
    const body = Buffer.from(JSON.stringify({ ok: true }));
    answer.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(body.byteLength) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

type Answer = { status: number; headers: IncomingHttpHeaders; body: Buffer } | { error: string; status?: number; received: number };

/** One request on a fresh connection; a broken answer is reported, not thrown. */
function send(endpoint: string, method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const url = new URL(path, endpoint);
    const outgoing = request(url, { method, headers: { ...options.headers, ...(options.body ? { 'Content-Length': String(options.body.byteLength) } : {}) }, agent: false });
    let status: number | undefined;
    let received = 0;
    outgoing.on('response', (incoming) => {
      status = incoming.statusCode;
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.byteLength;
      });
      incoming.on('end', () => resolve({ status: incoming.statusCode!, headers: incoming.headers, body: Buffer.concat(chunks) }));
      incoming.on('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message, status, received }));
    });
    outgoing.on('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message, ...(status !== undefined ? { status } : {}), received }));
    outgoing.end(options.body);
  });
}

const upstream = await startUpstream();
const proxy = await startWireFaultProxy({ upstreams: { s3: upstream.endpoint, lambda: upstream.endpoint } });
afterEach(() => {
  proxy.setPlan(undefined);
  upstream.seen.length = 0;
});
afterAll(async () => {
  await proxy.close();
  await new Promise((resolve) => upstream.server.close(resolve));
});

const INVOKE = '/2015-03-31/functions/fanout-runtime/invocations';

describe('classifyRequest', () => {
  it('tells S3 operations (path-style) and Lambda invokes apart from their method, path, query and headers', () => {
    const cases: [string, string, Record<string, string>, string][] = [
      ['GET', '/bucket/a/b?x-id=GetObject', {}, 's3:get'],
      ['HEAD', '/bucket/a/b', {}, 's3:head'],
      ['PUT', '/bucket/a/b?x-id=PutObject', {}, 's3:put'],
      ['PUT', '/bucket/a/b?x-id=PutObject', { 'if-none-match': '*' }, 's3:create'],
      ['PUT', '/bucket/a/b?partNumber=1&uploadId=u', {}, 's3:put'],
      ['POST', '/bucket/a/b?uploads', {}, 's3:put'],
      ['GET', '/bucket?list-type=2&prefix=p%2F', {}, 's3:list'],
      ['POST', '/bucket?delete', {}, 's3:delete'],
      ['DELETE', '/bucket/a/b', {}, 's3:delete'],
      ['PUT', '/bucket', {}, 's3:other'],
      ['POST', INVOKE, { 'x-amz-invocation-type': 'RequestResponse' }, 'lambda:invoke-sync'],
      ['POST', INVOKE, {}, 'lambda:invoke-sync'],
      ['POST', INVOKE, { 'x-amz-invocation-type': 'Event' }, 'lambda:invoke-async'],
      ['GET', '/2015-03-31/functions/fanout-runtime', {}, 'lambda:other'],
    ];
    expect(cases.map(([method, url, headers]) => classifyRequest(method, url, headers).kind)).toEqual(cases.map(([, , , kind]) => kind));
  });
});

describe('startWireFaultProxy', () => {
  it('forwards requests and answers whole, streaming both ways, on either port, and counts them by origin and kind', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 5, 3);
    const put = await send(proxy.endpoints.worker, 'PUT', '/bucket/k', { body, headers: { 'If-None-Match': '*' } });
    expect('status' in put && put.status).toBe(200);
    expect(upstream.seen[0]).toMatchObject({ method: 'PUT', url: '/bucket/k', bytes: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') });
    expect(upstream.seen[0]!.headers['if-none-match']).toBe('*');
    const get = await send(proxy.endpoints.client, 'GET', '/bucket/big');
    expect('body' in get && get.body.byteLength).toBe(1024 * 1024);
    expect(proxy.counts.requests).toEqual({ 'worker s3:create': 1, 'client s3:get': 1 });
  });

  it("answers S3's 503 SlowDown and 500 InternalError XML (HEAD without a body) and Lambda's 429 with Retry-After and 500 ServiceException, without forwarding", async () => {
    proxy.setPlan({ rules: [{ kinds: ['s3:get', 's3:head'], faults: { throttle: 1 } }, { kinds: ['s3:put'], faults: { internalError: 1 } }, { kinds: ['lambda:invoke-sync'], faults: { throttle: 1 }, retryAfterSeconds: 3 }, { kinds: ['lambda:invoke-async'], faults: { internalError: 1 } }] });
    const slowDown = await send(proxy.endpoints.client, 'GET', '/bucket/k');
    expect(slowDown).toMatchObject({ status: 503, headers: { 'content-type': 'application/xml' } });
    expect('body' in slowDown && slowDown.body.toString()).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>SlowDown<\/Code><Message>Please reduce your request rate.<\/Message><Resource>\/bucket\/k<\/Resource><RequestId>/);
    const head = await send(proxy.endpoints.client, 'HEAD', '/bucket/k');
    expect(head).toMatchObject({ status: 503, body: Buffer.alloc(0) });
    const internal = await send(proxy.endpoints.client, 'PUT', '/bucket/k', { body: Buffer.from('x') });
    expect('body' in internal && [internal.status, internal.body.toString()]).toEqual([500, expect.stringContaining('<Code>InternalError</Code>')]);
    const throttled = await send(proxy.endpoints.client, 'POST', INVOKE, { body: Buffer.from('{}') });
    expect(throttled).toMatchObject({ status: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException', 'retry-after': '3' } });
    expect('body' in throttled && JSON.parse(throttled.body.toString())).toMatchObject({ Reason: 'CallerRateLimitExceeded' });
    const serviceError = await send(proxy.endpoints.client, 'POST', INVOKE, { body: Buffer.from('{}'), headers: { 'X-Amz-Invocation-Type': 'Event' } });
    expect(serviceError).toMatchObject({ status: 500, headers: { 'x-amzn-errortype': 'ServiceException' } });
    expect(upstream.seen).toEqual([]);
  });

  it('resets the connection after the service did the work: half a body then a reset, or a reset before the first byte of an empty answer', async () => {
    proxy.setPlan({ rules: [{ kinds: ['s3:get', 's3:put'], faults: { reset: 1 } }] });
    const get = await send(proxy.endpoints.client, 'GET', '/bucket/big');
    expect(get).toMatchObject({ status: 200, error: expect.stringMatching(/ECONNRESET|aborted/) });
    expect('received' in get && get.received).toBeLessThan(1024 * 1024);
    const put = await send(proxy.endpoints.client, 'PUT', '/bucket/k', { body: Buffer.from('landed') });
    expect(put).toMatchObject({ error: expect.stringMatching(/ECONNRESET|socket hang up/) });
    expect(upstream.seen.map((seen) => `${seen.method} ${seen.url} ${seen.bytes}`)).toEqual(['GET /bucket/big 0', 'PUT /bucket/k 6']);
  });

  it('aims at one origin only, strips If-None-Match from conditional creates, counts creates the store accepted twice, and delays', async () => {
    proxy.setPlan({ rules: [{ origin: 'worker', kinds: ['s3:create'], unconditional: true, faults: { delay: 1 }, delayMs: 150 }] });
    const started = Date.now();
    await send(proxy.endpoints.worker, 'PUT', '/bucket/r', { body: Buffer.from('1'), headers: { 'If-None-Match': '*' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await send(proxy.endpoints.worker, 'PUT', '/bucket/r', { body: Buffer.from('2'), headers: { 'If-None-Match': '*' } });
    await send(proxy.endpoints.client, 'PUT', '/bucket/s', { body: Buffer.from('3'), headers: { 'If-None-Match': '*' } });
    expect(upstream.seen.map((seen) => seen.headers['if-none-match'])).toEqual([undefined, undefined, '*']);
    expect(proxy.counts).toMatchObject({ unconditional: 2, repeatedCreates: 1, faults: { 'worker s3:create delay': 2 } });
  });

  it('decides by a seeded schedule: the same seed fails the same requests, another seed others; once per path fails each path once', async () => {
    const failed = async (plan: WireFaultPlan) => {
      proxy.setPlan(plan);
      const outcomes: number[] = [];
      for (let index = 0; index < 60; index += 1) {
        const answer = await send(proxy.endpoints.client, 'GET', `/bucket/k${index % 20}`);
        if ('status' in answer && answer.status === 503) outcomes.push(index);
      }
      return outcomes;
    };
    const plan = (seed: number): WireFaultPlan => ({ seed, rules: [{ kinds: ['s3:get'], faults: { throttle: 0.2 } }] });
    const first = await failed(plan(1));
    expect(first.length).toBeGreaterThan(5);
    expect(await failed(plan(1))).toEqual(first);
    expect(await failed(plan(2))).not.toEqual(first);
    const once = await failed({ rules: [{ kinds: ['s3:get'], faults: { throttle: 1 }, oncePerPath: true }] });
    expect(once).toEqual(Array.from({ length: 20 }, (_, index) => index));
  });
});
