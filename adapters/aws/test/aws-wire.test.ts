/**
 * The conformance suite's wire chaos group on the AWS adapter: S3 on fauxqs and Lambda through the
 * Invoke API test server running the built runtime, with the wire fault proxy in front of both.
 * The client's S3 and Lambda endpoints name the proxy's client port; the runtime's S3 endpoint
 * (its function environment, as `fanout deploy` sets it) names the worker port. First, that the
 * real SDKs read the proxy's injected answers as the services' own.
 */
import { rm } from 'node:fs/promises';
import { buildPayload, describeWireChaos } from '@fanout/conformance';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { AwsCompute } from '../src/aws-compute.js';
import plugin from '../src/index.js';
import { runtimeEnvironmentFor } from '../src/aws-runtime-environment.js';
import { AwsStorage } from '../src/aws-storage.js';
import { startLambdaTestServer } from './lambda-test-server.js';
import { unpackedRuntime } from './runtime-package.js';
import { EMULATOR_CREDENTIALS } from './s3-emulator.js';
import { startWireS3Fixture } from './wire-fixture.js';

const FUNCTION = { name: 'fanout-runtime', memoryMb: 256, timeoutSeconds: 30, concurrency: 8 };

const [wire, runtime] = await Promise.all([startWireS3Fixture({ bucket: 'fanout-wire', prefix: 'wire/' }), unpackedRuntime()]);
const lambda = await startLambdaTestServer({
  functions: [
    {
      ...FUNCTION,
      codeDirectory: runtime.directory,
      environment: runtimeEnvironmentFor({ bucket: wire.bucket, prefix: wire.prefix, endpoint: wire.proxy.endpoints.worker, forcePathStyle: true }),
    },
  ],
});
wire.proxy.route('lambda', lambda.endpoint);
afterAll(async () => {
  await lambda.stop();
  await wire.stop();
  await rm(runtime.directory, { recursive: true, force: true });
});

const computeOptions = {
  functionName: FUNCTION.name,
  endpoint: wire.proxy.endpoints.client,
  region: 'us-east-1',
  credentials: { ...EMULATOR_CREDENTIALS },
  memoryMb: FUNCTION.memoryMb,
  timeoutSeconds: FUNCTION.timeoutSeconds,
  concurrency: FUNCTION.concurrency,
  maxConcurrency: FUNCTION.concurrency,
};

describe("the AWS SDKs read the proxy's injected answers as the services' own", () => {
  const storage = new AwsStorage({ ...wire.storageOptions });
  const compute = new AwsCompute({ ...computeOptions, dispatchThreads: 0 });
  afterEach(() => wire.proxy.setPlan(undefined));
  afterAll(async () => {
    await storage.dispose();
    await compute.dispose();
  });

  const failureOf = (operation: Promise<unknown>) => operation.then(() => expect.unreachable('the request succeeded'), (error: unknown) => error as FanoutError);
  // Never run: every invoke below is answered by the proxy.
  const payload = buildPayload({ codeKey: 'code/none.mjs', resultKey: 'results/wire-probe', task: 'square', inputs: [1] });

  it('S3 503 SlowDown is THROTTLED, 500 InternalError a retryable BACKEND_UNAVAILABLE, a reset mid-answer a retryable BACKEND_UNAVAILABLE', async () => {
    wire.proxy.setPlan({ rules: [{ kinds: ['s3:put'], faults: { throttle: 1 } }] });
    const throttled = await failureOf(storage.put('probe/a', new Uint8Array([1])));
    expect([throttled.code, throttled.message]).toEqual([ErrorCode.THROTTLED, expect.stringContaining('SlowDown (HTTP 503)')]);

    wire.proxy.setPlan({ rules: [{ kinds: ['s3:put'], faults: { internalError: 1 } }] });
    const failed = await failureOf(storage.put('probe/a', new Uint8Array([1])));
    expect([failed.code, failed.retryable, failed.message]).toEqual([ErrorCode.BACKEND_UNAVAILABLE, true, expect.stringContaining('InternalError (HTTP 500)')]);

    wire.proxy.setPlan(undefined);
    await storage.put('probe/b', new Uint8Array(64 * 1024).fill(7));
    wire.proxy.setPlan({ rules: [{ kinds: ['s3:get'], faults: { reset: 1 } }] });
    const reset = await failureOf(storage.get('probe/b'));
    expect([reset.code, reset.retryable]).toEqual([ErrorCode.BACKEND_UNAVAILABLE, true]);
    expect(wire.proxy.counts.faults).toEqual({ 'client s3:get reset': 1 });
  });

  it("a conditional create reaches the store as a plain put when the plan says so (and is counted as repeated when the store accepts it again)", async () => {
    wire.proxy.setPlan({ rules: [{ kinds: ['s3:create'], unconditional: true }] });
    expect(await storage.create('probe/c', new Uint8Array([1]))).toBe(true);
    expect(await storage.create('probe/c', new Uint8Array([2]))).toBe(true);
    expect(wire.proxy.counts).toMatchObject({ unconditional: 2, repeatedCreates: 1, requests: { 'client s3:create': 2 } });
  });

  it('Lambda 429 TooManyRequestsException is THROTTLED with its Retry-After, 500 ServiceException a retryable BACKEND_UNAVAILABLE', async () => {
    wire.proxy.setPlan({ rules: [{ kinds: ['lambda:invoke-sync'], faults: { throttle: 1 }, retryAfterSeconds: 2 }] });
    const throttled = await failureOf(compute.invoke(payload, { mode: 'sync' }));
    expect([throttled.code, throttled.retryAfterMs]).toEqual([ErrorCode.THROTTLED, 2000]);

    wire.proxy.setPlan({ rules: [{ kinds: ['lambda:invoke-async'], faults: { internalError: 1 } }] });
    const failed = await failureOf(compute.invoke(payload, { mode: 'async' }));
    expect([failed.code, failed.retryable, failed.message]).toEqual([ErrorCode.BACKEND_UNAVAILABLE, true, expect.stringContaining('ServiceException (HTTP 500)')]);
    expect(FanoutError.isInstance(failed)).toBe(true);
  });
});

describeWireChaos({ plugin, storageOptions: wire.storageOptions, computeOptions, proxy: wire.proxy, services: ['s3', 'lambda'], label: 'aws' });
