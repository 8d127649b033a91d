/**
 * Every request of the Cloud Storage backend is bounded: against an endpoint that accepts
 * connections and never answers, or answers and then goes silent, each operation fails with a
 * retryable BACKEND_UNAVAILABLE naming the endpoint within its timeouts; a whole map() fails
 * within core's attempts at its first request; and a stall that passes is recovered from.
 */
import { connect, type Executor } from '@fanout/core';
import { startSilentServer, type SilentServer } from '@fanout/conformance';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GcpStorage } from '../src/index.js';
import { square } from './fixtures/tasks.js';
import { FakeGcsServer } from './gcs-json-api-server.js';

const CONNECT_MS = 300;
const RESPONSE_MS = 500;
/** The library's timer covers both: see GcpStorageOptions. */
const REQUEST_MS = CONNECT_MS + RESPONSE_MS;
/** Room for a busy machine. */
const SLACK_MS = 1500;

const servers: Array<{ close(): Promise<void> } | { stop(): Promise<void> }> = [];
const executors: Executor[] = [];
afterEach(async () => {
  for (const executor of executors.splice(0)) await executor.dispose().catch(() => undefined);
  for (const server of servers.splice(0)) await ('close' in server ? server.close() : server.stop());
});

async function silent(options: Parameters<typeof startSilentServer>[0] = {}): Promise<SilentServer> {
  const server = await startSilentServer(options);
  servers.push(server);
  return server;
}

async function failure(run: () => Promise<unknown>): Promise<{ error: FanoutError; elapsedMs: number }> {
  const started = performance.now();
  const error = await run().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(FanoutError.isInstance(error), String(error)).toBe(true);
  return { error: error as FanoutError, elapsedMs: performance.now() - started };
}

const storageAt = (endpoint: string) =>
  new GcpStorage({ bucket: 'fanout-deadline', endpoint, projectId: 'fanout-test', connectTimeoutMs: CONNECT_MS, responseTimeoutMs: RESPONSE_MS });

describe('Cloud Storage request deadlines', () => {
  for (const stall of ['silent', 'stalled-body'] as const) {
    it(`fails every operation on a ${stall} endpoint with a retryable BACKEND_UNAVAILABLE naming it, within the timeouts`, async () => {
      const server = await silent({ stall });
      const storage = storageAt(server.endpoint);
      const operations: Record<string, () => Promise<unknown>> = {
        get: () => storage.get('a'),
        getStream: async () => {
          for await (const chunk of (await storage.getStream('a'))!) void chunk;
        },
        head: () => storage.head('a'),
        put: () => storage.put('a', new Uint8Array(8)),
        create: () => storage.create('a', new Uint8Array(8)),
        list: () => storage.list(''),
        delete: () => storage.delete(['a']),
      };
      for (const [name, run] of Object.entries(operations)) {
        const { error, elapsedMs } = await failure(run);
        expect([name, error.code, error.retryable]).toEqual([name, ErrorCode.BACKEND_UNAVAILABLE, true]);
        expect(error.message, name).toContain(server.address);
        expect(error.message, name).toMatch(/responseTimeoutMs/);
        expect(elapsedMs, name).toBeLessThan(REQUEST_MS + SLACK_MS);
      }
    });
  }
});

describe('a job whose Cloud Storage stops answering', () => {
  async function open(endpoint: string, responseTimeoutMs = RESPONSE_MS): Promise<Executor> {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-gcp-deadline-'));
    const executor = await connect(
      {
        compute: { backend: 'local', options: { workers: 2 } },
        storage: { backend: 'gcp', options: { bucket: 'fanout-deadline', endpoint, projectId: 'fanout-test', connectTimeoutMs: CONNECT_MS, responseTimeoutMs } },
      },
      { cwd, configFile: false, env: {} },
    );
    executors.push(executor);
    return executor;
  }

  it('fails map() within four request timeouts plus backoff (core tries a storage request four times), naming the endpoint', { timeout: 30_000 }, async () => {
    const server = await silent();
    const executor = await open(server.endpoint);
    const { error, elapsedMs } = await failure(() => executor.map(square, [1, 2, 3]));
    expect(error).toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    expect(error.message).toContain(server.address);
    expect(server.requests.length, 'attempts at the first request (the code bundle)').toBe(4);
    // Core's backoff before its second, third and fourth attempts is at most 200, 400 and 800 ms.
    expect(elapsedMs).toBeGreaterThanOrEqual(4 * REQUEST_MS - 600);
    expect(elapsedMs).toBeLessThan(4 * REQUEST_MS + 1400 + SLACK_MS);
  });

  it('recovers when only the first connection stalls: the request is retried and the job finishes', { timeout: 60_000 }, async () => {
    const fake = await FakeGcsServer.start({ buckets: ['fanout-deadline'] });
    servers.push(fake);
    const server = await silent({ stallFirst: 1, upstream: fake.url });
    // Long enough that the fake on a busy machine is never taken for silent.
    const executor = await open(server.endpoint, 2000);
    const job = await executor.map(square, [1, 2, 3, 4]);
    expect(await job.results()).toEqual([1, 4, 9, 16]);
    expect(server.requests, 'requests that reached the stalled connection').toHaveLength(1);
    expect(server.connections).toBeGreaterThan(1);
  });
});
