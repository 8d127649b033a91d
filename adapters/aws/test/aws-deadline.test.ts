/**
 * Every request has a deadline: the adapter's real S3 storage and Lambda compute pointed at
 * servers that accept connections and never answer, answer headers and then stall, or never
 * let a connection open. Each request must fail within its configured timeout (plus slack) as a
 * retryable BACKEND_UNAVAILABLE that names the endpoint, and a whole job through core must fail
 * within its documented deadline, or recover, instead of hanging.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@fanout/core';
import { ErrorCode, FanoutError, PROTOCOL_VERSION, type InvocationPayloadV1 } from '@fanout/spec';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsCompute } from '../src/aws-compute.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, parseAwsComputeOptions, parseAwsStorageOptions } from '../src/aws-options.js';
import { storageFromEnvironment } from '../src/aws-runtime-environment.js';
import { AwsStorage, type AwsStorageSettings } from '../src/aws-storage.js';
import { startAwsFixture } from './aws-fixture.js';
import { square } from './fixtures/lane-tasks.js';
import { EMULATOR_CREDENTIALS, startS3Emulator } from './s3-emulator.js';
import { startSilentServer, startUnacceptingServer, type SilentServer, type UnacceptingServer } from '@fanout/conformance';

/** Short timeouts, so that each test waits a fraction of a second for what would otherwise be forever. */
const CONNECT_MS = 300;
const RESPONSE_MS = 400;
/** What a failed request may take past its timeout: signing, the first request's credential and endpoint resolution, a loaded machine. */
const SLACK_MS = 2500;

const servers: Array<SilentServer | UnacceptingServer> = [];
const disposables: Array<{ dispose(): Promise<void> }> = [];

afterEach(async () => {
  for (const disposable of disposables.splice(0)) await disposable.dispose().catch(() => undefined);
});
afterAll(async () => {
  for (const server of servers) await server.close();
});

async function silent(options: Parameters<typeof startSilentServer>[0] = {}): Promise<SilentServer> {
  const server = await startSilentServer(options);
  servers.push(server);
  return server;
}

function storageAt(endpoint: string, settings: Partial<AwsStorageSettings> = {}): AwsStorage {
  const storage = new AwsStorage({
    bucket: 'deadline-tests',
    prefix: 'team/',
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { ...EMULATOR_CREDENTIALS },
    connectTimeoutMs: CONNECT_MS,
    responseTimeoutMs: RESPONSE_MS,
    ...settings,
  });
  disposables.push(storage);
  return storage;
}

function computeAt(endpoint: string): AwsCompute {
  const compute = new AwsCompute({
    functionName: 'fanout-runtime',
    endpoint,
    region: 'us-east-1',
    credentials: { ...EMULATOR_CREDENTIALS },
    connectTimeoutMs: CONNECT_MS,
    responseTimeoutMs: RESPONSE_MS,
    dispatchThreads: 0,
  });
  disposables.push(compute);
  return compute;
}

type Failure = { error: FanoutError; elapsedMs: number };

/** Run `operation`, which must reject with a FanoutError; how long it took. */
async function failure(operation: () => Promise<unknown>): Promise<Failure> {
  const started = performance.now();
  const outcome = await operation().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const elapsedMs = performance.now() - started;
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(FanoutError.isInstance(outcome.error), `expected a FanoutError, got ${String(outcome.error)}`).toBe(true);
  return { error: outcome.error as FanoutError, elapsedMs };
}

/** The failure is the retryable one a timed-out request becomes, names the endpoint and the operation, and came within the deadline. */
function expectTimedOut({ error, elapsedMs }: Failure, expected: { address: string; operation: string; option: string; timeoutMs: number }): void {
  expect(error).toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true, fault: 'backend' });
  expect(error.message).toContain(expected.address);
  expect(error.message).toContain(expected.operation);
  expect(error.message).toContain(`${expected.timeoutMs} ms (${expected.option}; `);
  expect(error.message).toMatch(/Check that/);
  // A timer may fire a millisecond early; never much later than the timeout.
  expect(elapsedMs).toBeGreaterThanOrEqual(expected.timeoutMs - 5);
  expect(elapsedMs).toBeLessThan(expected.timeoutMs + SLACK_MS);
}

const payload = (): InvocationPayloadV1 => ({
  protocol: PROTOCOL_VERSION,
  jobId: 'job-deadline',
  attempt: 1,
  code: { key: 'fanout/code/none.mjs', sha256: '0'.repeat(64), exportName: 'square' },
  tasks: { first: 0, count: 1 },
  inputs: { inline: new Uint8Array(8) },
  resultKey: 'fanout/results/job-deadline/0000000000-000001',
  respond: true,
  timeoutMs: 10_000,
});

async function* chunks(): AsyncGenerator<Uint8Array> {
  yield Buffer.from('streamed ');
  yield Buffer.from('body');
}

describe('S3 requests against a server that accepts connections and never answers', () => {
  let server: SilentServer;
  beforeAll(async () => {
    server = await silent();
  });

  const option = 'storage.options.responseTimeoutMs';
  const cases: Array<[string, string, (storage: AwsStorage) => Promise<unknown>]> = [
    ['get', 'GetObject', (storage) => storage.get('a/key')],
    ['a ranged get', 'GetObject', (storage) => storage.get('a/key', { range: { start: 1024, end: 2048 } })],
    ['getStream', 'GetObject', (storage) => storage.getStream!('a/key')],
    ['head', 'HeadObject', (storage) => storage.head('a/key')],
    ['put of bytes', 'PutObject', (storage) => storage.put('a/key', Buffer.from('bytes'))],
    ['put of a stream', 'PutObject', (storage) => storage.put('a/key', chunks())],
    ['create', 'PutObject', (storage) => storage.create!('a/key', Buffer.from('bytes'))],
    ['list', 'ListObjectsV2', (storage) => storage.list('a/')],
    ['delete', 'DeleteObjects', (storage) => storage.delete(['a/key', 'a/other'])],
  ];
  for (const [name, operation, run] of cases) {
    it(`fails ${name} within responseTimeoutMs, naming the endpoint and ${operation}`, async () => {
      const before = server.requests.length;
      expectTimedOut(await failure(() => run(storageAt(server.endpoint))), { address: server.address, operation, option, timeoutMs: RESPONSE_MS });
      expect(server.requests.length, 'the request reached the server').toBeGreaterThan(before);
    });
  }

  it('retries in the Lambda runtime (maxAttempts 3), each attempt bounded, the whole within three timeouts plus backoff', async () => {
    const storage = storageAt(server.endpoint, { maxAttempts: 3 });
    const before = server.requests.length;
    const { error, elapsedMs } = await failure(() => storage.get('a/key'));
    expect(error).toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    expect(server.requests.length - before, 'attempts').toBe(3);
    // The SDK's backoff between attempts is at most a few hundred milliseconds here.
    expect(elapsedMs).toBeGreaterThanOrEqual(3 * RESPONSE_MS - 5);
    expect(elapsedMs).toBeLessThan(3 * RESPONSE_MS + 2 * 1000 + SLACK_MS);
  });
});

describe('S3 requests against a server that answers headers and then stalls the body', () => {
  let server: SilentServer;
  beforeAll(async () => {
    server = await silent({ stall: 'stalled-body' });
  });
  const expected = () => ({ address: server.address, operation: 'GetObject', option: 'storage.options.responseTimeoutMs', timeoutMs: RESPONSE_MS });

  it('fails get mid-body within responseTimeoutMs, naming the endpoint', async () => {
    expectTimedOut(await failure(() => storageAt(server.endpoint).get('a/key')), expected());
  });

  it('fails a streamed get mid-body within responseTimeoutMs, after the bytes that came', async () => {
    const storage = storageAt(server.endpoint);
    const received: number[] = [];
    const result = await failure(async () => {
      const stream = await storage.getStream!('a/key');
      for await (const chunk of stream!) received.push(chunk.byteLength);
    });
    expect(received.reduce((sum, length) => sum + length, 0)).toBe(16);
    expectTimedOut(result, expected());
  });

  it('fails list and put, whose answers are read whole, within responseTimeoutMs', async () => {
    const option = 'storage.options.responseTimeoutMs';
    expectTimedOut(await failure(() => storageAt(server.endpoint).list('a/')), { address: server.address, operation: 'ListObjectsV2', option, timeoutMs: RESPONSE_MS });
    expectTimedOut(await failure(() => storageAt(server.endpoint).put('a/key', Buffer.from('x'))), { address: server.address, operation: 'PutObject', option, timeoutMs: RESPONSE_MS });
  });
});

describe('S3 requests to a port whose connections never open', () => {
  let server: UnacceptingServer;
  beforeAll(async () => {
    server = await startUnacceptingServer();
    servers.push(server);
  });

  it('fails within connectTimeoutMs, naming the endpoint and the option', async () => {
    const result = await failure(() => storageAt(server.endpoint, { responseTimeoutMs: 60_000 }).get('a/key'));
    expectTimedOut(result, { address: server.address, operation: 'GetObject', option: 'storage.options.connectTimeoutMs', timeoutMs: CONNECT_MS });
    expect(result.error.message).toContain('no connection to');
  });
});

describe('Lambda invocations against a server that never answers', () => {
  let server: SilentServer;
  beforeAll(async () => {
    server = await silent();
  });

  it('fails an asynchronous (Event) invocation within responseTimeoutMs, naming the endpoint', async () => {
    expectTimedOut(await failure(() => computeAt(server.endpoint).invoke(payload(), { mode: 'async' })), {
      address: server.address,
      operation: 'Invoke',
      option: 'compute.options.responseTimeoutMs',
      timeoutMs: RESPONSE_MS,
    });
  });

  it('lets a synchronous invocation wait past responseTimeoutMs, until the signal core passes aborts it', async () => {
    const waitMs = RESPONSE_MS * 4;
    const { error, elapsedMs } = await failure(() => computeAt(server.endpoint).invoke(payload(), { mode: 'sync', signal: AbortSignal.timeout(waitMs) }));
    expect(error.code).toBe(ErrorCode.ABORTED);
    expect(elapsedMs).toBeGreaterThanOrEqual(waitMs - 5);
    expect(elapsedMs).toBeLessThan(waitMs + SLACK_MS);
  });

  it('fails a synchronous invocation within connectTimeoutMs when no connection opens', async () => {
    const unaccepting = await startUnacceptingServer();
    servers.push(unaccepting);
    expectTimedOut(await failure(() => computeAt(unaccepting.endpoint).invoke(payload(), { mode: 'sync' })), {
      address: unaccepting.address,
      operation: 'Invoke',
      option: 'compute.options.connectTimeoutMs',
      timeoutMs: CONNECT_MS,
    });
  });
});

describe('the timeouts as options', () => {
  it('defaults to 10 s to connect and 30 s of silence, for storage and compute, and validates them naming the option', () => {
    const context = { configPath: 'storage.options' };
    expect(parseAwsStorageOptions({ bucket: 'b-1' }, context)).toMatchObject({ connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, responseTimeoutMs: DEFAULT_RESPONSE_TIMEOUT_MS });
    expect(parseAwsComputeOptions({ connectTimeoutMs: 2000, responseTimeoutMs: 5000 }, { configPath: 'compute.options' })).toMatchObject({ connectTimeoutMs: 2000, responseTimeoutMs: 5000 });
    for (const [key, value] of [['connectTimeoutMs', 0], ['connectTimeoutMs', 1.5], ['responseTimeoutMs', '30s'], ['responseTimeoutMs', 3_600_001]] as const) {
      const refusal = (() => {
        try {
          parseAwsStorageOptions({ bucket: 'b-1', [key]: value }, context);
        } catch (error) {
          return error as FanoutError;
        }
        throw new Error(`${key}: ${String(value)} was accepted`);
      })();
      expect(refusal.code).toBe(ErrorCode.CONFIG_INVALID);
      expect(refusal.message).toMatch(new RegExp(`^storage\\.options\\.${key} must be a whole number of milliseconds from 1 to 3600000, got .+ leave it out for \\d+\\.$`, 'i'));
    }
    expect(() => new AwsStorage({ bucket: 'b-1', responseTimeoutMs: -1 })).toThrow(TypeError);
  });

  it('carries timeouts that differ from the defaults in the storage reference, so that local workers open the same storage', () => {
    const storage = storageAt('http://127.0.0.1:9', { connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS });
    expect(storage.reference.options).toMatchObject({ responseTimeoutMs: RESPONSE_MS });
    expect(storage.reference.options).not.toHaveProperty('connectTimeoutMs');
  });

  it("bounds the Lambda runtime's storage with the defaults", async () => {
    const emulator = await startS3Emulator();
    await emulator.createBucket('runtime-bucket');
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = EMULATOR_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = EMULATOR_CREDENTIALS.secretAccessKey;
    const storage = storageFromEnvironment({
      FANOUT_RUNTIME_BUCKET: 'runtime-bucket',
      FANOUT_RUNTIME_S3_ENDPOINT: emulator.endpoint,
      FANOUT_RUNTIME_S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'us-east-1',
    });
    try {
      // smithy resolves its handler's settings on the first request.
      expect(await storage.list('')).toEqual({ objects: [] });
      const handler = storage.client.config.requestHandler as { httpHandlerConfigs(): { connectionTimeout?: number; socketTimeout?: number } };
      expect(handler.httpHandlerConfigs()).toMatchObject({ connectionTimeout: DEFAULT_CONNECT_TIMEOUT_MS, socketTimeout: DEFAULT_RESPONSE_TIMEOUT_MS });
    } finally {
      await storage.dispose();
      await emulator.stop();
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe('a job through core whose S3 never answers', () => {
  async function open(storageEndpoint: string, computeOptions: Record<string, unknown>, responseTimeoutMs: number) {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-aws-deadline-'));
    const storageOptions = {
      bucket: 'fanout-test',
      prefix: 'team/',
      endpoint: storageEndpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { ...EMULATOR_CREDENTIALS },
      connectTimeoutMs: CONNECT_MS,
      responseTimeoutMs,
    };
    const executor = await connect(
      { compute: { backend: 'aws', options: computeOptions }, storage: { backend: 'aws', options: storageOptions }, defaults: { timeoutMs: 20_000 } },
      { cwd, configFile: false, env: {} },
    );
    disposables.push(executor);
    return executor;
  }

  it('fails map() within four response timeouts plus backoff (core tries a storage request four times), naming the endpoint', { timeout: 30_000 }, async () => {
    const server = await silent();
    const executor = await open(server.endpoint, { functionName: 'fanout-runtime', endpoint: server.endpoint, region: 'us-east-1', credentials: { ...EMULATOR_CREDENTIALS }, dispatchThreads: 0 }, RESPONSE_MS);
    const { error, elapsedMs } = await failure(() => executor.map(square, [1, 2, 3]));
    expect(error).toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
    expect(error.message).toContain(server.address);
    expect(server.requests.length, 'attempts at the first request (the code bundle)').toBe(4);
    // Core's backoff before its second, third and fourth attempts is at most 200, 400 and 800 ms.
    expect(elapsedMs).toBeGreaterThanOrEqual(4 * RESPONSE_MS - 5);
    expect(elapsedMs).toBeLessThan(4 * RESPONSE_MS + 1400 + SLACK_MS);
  });

  it('recovers when only the first connection stalls: the request is retried and the job finishes', { timeout: 120_000 }, async () => {
    const aws = await startAwsFixture({ functions: [{ name: 'fanout-runtime', memoryMb: 128, timeoutSeconds: 30, concurrency: 4 }] });
    try {
      const server = await silent({ stallFirst: 1, upstream: aws.s3.endpoint });
      // Long enough that fauxqs on a busy machine is never taken for silent.
      const responseTimeoutMs = 2000;
      const executor = await open(server.endpoint, { ...aws.computeOptions(), dispatchThreads: 0 }, responseTimeoutMs);
      const started = performance.now();
      const job = await executor.map(square, [1, 2, 3, 4]);
      expect(await job.results()).toEqual([1, 4, 9, 16]);
      expect(performance.now() - started, 'the stalled request was waited for, once').toBeGreaterThanOrEqual(responseTimeoutMs - 5);
      expect(server.requests, 'requests that reached the stalled connection').toHaveLength(1);
      expect(server.connections).toBeGreaterThan(1);
    } finally {
      for (const disposable of disposables.splice(0)) await disposable.dispose().catch(() => undefined);
      await aws.stop();
    }
  });
});
