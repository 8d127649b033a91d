import { createHash, randomUUID } from 'node:crypto';
import { FanoutError, PROTOCOL_VERSION, type ErrorCode, type InvocationPayloadV1, type ResultRecordV1 } from '@fanout/spec';
import { decodeInvocationFailure, decodeRecord, frame, serializeValue } from '@fanout/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsFixture, type AwsFixture } from '../test/aws-fixture.js';
import { handlerFolder } from '../test/runtime-package.js';
import { AwsCompute, billedMsFromLogTail } from './aws-compute.js';
import { AwsStorage } from './aws-storage.js';
import { encodeJsonPayload } from '@fanout/adapter-kit';
import { LAMBDA_ASYNC_PAYLOAD_BYTES } from './lambda-protocol.js';

// The task bundle, as core's bundler would produce it: one self-contained ES module.
const bundle = `
export function square(value) { return value * value; }
export function fail(message) { console.log('about to fail on', message); throw new RangeError(message); }
export function exit(code) { process.exit(code); }
export function hog() { const keep = []; for (;;) keep.push(new Array(1000).fill(Math.random())); }
export function forever() { for (;;) {} }
export function spin(milliseconds) { const end = Date.now() + milliseconds; while (Date.now() < end) {} return 'done'; }
export function large(bytes) { return new Uint8Array(bytes).fill(1); }
export function stray(message) { setTimeout(() => { throw new TypeError(message); }, 0); return new Promise((resolve) => setTimeout(resolve, 500)); }
`;
const sha256 = createHash('sha256').update(bundle).digest('hex');
const codeKey = `fanout/code/${sha256}.mjs`;

let fixture: AwsFixture;
let storage: AwsStorage;
let compute: AwsCompute;

beforeAll(async () => {
  fixture = await startAwsFixture({
    functions: [
      { name: 'fanout-runtime', memoryMb: 256, timeoutSeconds: 10, concurrency: 2 },
      { name: 'fanout-small', memoryMb: 128, timeoutSeconds: 20, concurrency: 1 },
      { name: 'fanout-short', memoryMb: 256, timeoutSeconds: 1, concurrency: 1 },
    ],
    others: [
      { name: 'someone-else', codeDirectory: await handlerFolder('export const handler = async () => ({ hello: "world" });') },
      { name: 'broken', codeDirectory: await handlerFolder('export const handler = ;') },
    ],
  });
  storage = new AwsStorage(fixture.storageOptions);
  await storage.put(codeKey, Buffer.from(bundle));
  compute = new AwsCompute(fixture.computeOptions('fanout-runtime'));
});

afterAll(async () => {
  await compute?.dispose();
  await storage?.dispose();
  await fixture?.stop();
});

function payloadFor(exportName: string, inputs: unknown[], overrides: Partial<InvocationPayloadV1> = {}): InvocationPayloadV1 {
  const jobId = `job-${randomUUID()}`;
  return {
    protocol: PROTOCOL_VERSION,
    jobId,
    attempt: 1,
    code: { key: codeKey, sha256, exportName },
    tasks: { first: 0, count: inputs.length },
    inputs: { inline: frame(inputs.map((input) => serializeValue(input))) },
    resultKey: `fanout/results/${jobId}/0000000000-${String(inputs.length).padStart(6, '0')}`,
    respond: true,
    timeoutMs: 10_000,
    ...overrides,
  };
}

function computeFor(functionName: string): AwsCompute {
  return new AwsCompute(fixture.computeOptions(functionName));
}

async function invokeSync(target: AwsCompute, payload: InvocationPayloadV1): Promise<ResultRecordV1> {
  const result = await target.invoke(payload, { mode: 'sync' });
  if (result.mode !== 'sync' || !result.record) throw new Error(`expected a record in the response, got ${JSON.stringify(result)}`);
  return decodeRecord(result.record, 'the response');
}

/** A 2-second invocation aborted after 100 ms rejects `ABORTED` well before it would have ended. */
async function expectAbortStopsWaiting(target: AwsCompute): Promise<void> {
  const controller = new AbortController();
  const pending = target.invoke(payloadFor('spin', [2000]), { mode: 'sync', signal: controller.signal });
  setTimeout(() => controller.abort(), 100);
  const started = Date.now();
  await expectCode(pending, 'ABORTED');
  expect(Date.now() - started).toBeLessThan(1500);
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FanoutError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(FanoutError.isInstance(error), `expected FanoutError ${code}, got ${String(error)}`).toBe(true);
  expect((error as FanoutError).code, (error as Error).message).toBe(code);
  return error as FanoutError;
}

async function waitForObject(key: string, timeoutMs = 10_000): Promise<Uint8Array> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bytes = await storage.get(key);
    if (bytes) return bytes;
    if (Date.now() > deadline) throw new Error(`${key} did not appear within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('AwsCompute through the Lambda Invoke API, running the built runtime', () => {
  it('invokes synchronously: the record comes back in the response and is also in S3', async () => {
    const payload = payloadFor('square', [2, 3, 4]);
    const record = await invokeSync(compute, payload);
    expect(record.outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual([4, 9, 16]);
    expect(decodeRecord((await storage.get(payload.resultKey))!, 'stored').jobId).toBe(payload.jobId);
    // A warm environment keeps the imported bundle: no second fetch of the code.
    const again = await invokeSync(compute, payloadFor('square', [5]));
    expect(again.coldStart).toBe(false);
    expect(again.storage.get).toBe(0);
  });

  it("returns the duration Lambda billed, from the log tail's REPORT line", async () => {
    const result = await compute.invoke(payloadFor('spin', [50]), { mode: 'sync' });
    expect(result).toMatchObject({ mode: 'sync', billedMs: expect.any(Number) });
    const { billedMs } = result as { billedMs: number };
    expect(Number.isSafeInteger(billedMs) && billedMs >= 50, String(billedMs)).toBe(true);
  });

  it('invokes asynchronously: 202 at once, and the record appears in S3', async () => {
    const payload = payloadFor('square', [7], { respond: false });
    expect(await compute.invoke(payload, { mode: 'async' })).toEqual({ mode: 'async' });
    const record = decodeRecord(await waitForObject(payload.resultKey), 'stored');
    expect(record.outcomes[0]).toMatchObject({ ok: true, value: 49 });
  });

  it('reads inputs from S3 with one ranged GET when they are not inline', async () => {
    const framed = frame([10, 11, 12].map((value) => serializeValue(value)));
    const inputKey = `fanout/jobs/${randomUUID()}`;
    await storage.put(inputKey, Buffer.concat([Buffer.from('manifest'), framed]));
    const payload = payloadFor('square', [0, 0, 0], { inputs: { key: inputKey, start: 8, end: 8 + framed.byteLength } });
    const record = await invokeSync(compute, payload);
    expect(record.outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual([100, 121, 144]);
    expect(record.storage.getRange).toBe(1);
  });

  it('measures payloads as the JSON they travel as, and refuses an oversized one before sending it', async () => {
    const inputs = [new Uint8Array(LAMBDA_ASYNC_PAYLOAD_BYTES * 0.8)];
    const payload = payloadFor('square', inputs);
    // Base64 makes 80% of the async budget in raw bytes more than the budget.
    expect(compute.payloadSize(payload)).toBe(encodeJsonPayload(payload).byteLength);
    expect(compute.payloadSize(payload)).toBeGreaterThan(LAMBDA_ASYNC_PAYLOAD_BYTES);
    const before = fixture.lambda.stats.requests;
    await expectCode(compute.invoke(payload, { mode: 'async' }), 'PAYLOAD_TOO_LARGE');
    expect(fixture.lambda.stats.requests).toBe(before);
  });

  it('leaves a record too large for the response in S3 and says so', async () => {
    const payload = payloadFor('large', [5 * 1024 * 1024]);
    const result = await compute.invoke(payload, { mode: 'sync' });
    expect(result).toEqual({ mode: 'sync', record: undefined, billedMs: expect.any(Number) });
    const stored = decodeRecord((await storage.get(payload.resultKey))!, 'stored');
    expect((stored.outcomes[0] as { value: Uint8Array }).value.byteLength).toBe(5 * 1024 * 1024);
  });

  it('returns a task that throws as a USER_CODE_ERROR outcome, with its console output in the log tail', async () => {
    const record = await invokeSync(compute, payloadFor('fail', ['bad input']));
    expect(record.outcomes[0]).toMatchObject({ ok: false, error: { code: 'USER_CODE_ERROR', name: 'RangeError', message: 'bad input' } });
    expect(record.logTail).toContain('about to fail on bad input');
  });

  it('classifies a task that exits its process as WORKER_CRASHED, retryable, and the environment stays warm', async () => {
    await invokeSync(compute, payloadFor('square', [2]));
    const coldStarts = fixture.lambda.stats.coldStarts;
    const error = await expectCode(compute.invoke(payloadFor('exit', [3]), { mode: 'sync' }), 'WORKER_CRASHED');
    expect(error).toMatchObject({ retryable: true, fault: 'backend' });
    expect(error.message).toContain('Lambda worker process exited with code 3');
    // Only the supervised worker process ended: the function keeps working in the same environment.
    expect((await invokeSync(compute, payloadFor('square', [6]))).outcomes[0]).toMatchObject({ value: 36 });
    expect(fixture.lambda.stats.coldStarts, 'cold starts').toBe(coldStarts);
  });

  it('in async mode reports what ended an invocation at its failedKey at once: a crash, and a run past timeoutMs', async () => {
    for (const [exportName, code, timeoutMs] of [
      ['exit', 'WORKER_CRASHED', 10_000],
      ['forever', 'TIMEOUT', 700],
    ] as const) {
      const payload = payloadFor(exportName, [3], { respond: false, timeoutMs });
      const failedKey = `${payload.resultKey}.failed-1`;
      const sent = Date.now();
      await compute.invoke({ ...payload, failedKey }, { mode: 'async' });
      const failure = decodeInvocationFailure(await waitForObject(failedKey), failedKey);
      expect(failure, exportName).toMatchObject({ code, retryable: true });
      expect(Date.now() - sent, 'reported well before any deadline').toBeLessThan(timeoutMs + 5_000);
      expect(await storage.get(payload.resultKey), 'no record').toBeUndefined();
    }
  });

  it('classifies an invocation killed at the function timeout as TIMEOUT', async () => {
    const short = computeFor('fanout-short');
    const error = await expectCode(short.invoke(payloadFor('forever', [null]), { mode: 'sync' }), 'TIMEOUT');
    expect(error).toMatchObject({ retryable: true, fault: 'user-code' });
    expect(error.message).toContain('1.00 s');
    await short.dispose();
  });

  it("stops an invocation at the payload's timeoutMs, well before the function's timeout, as TIMEOUT", async () => {
    const started = Date.now();
    const error = await expectCode(compute.invoke(payloadFor('forever', [null], { timeoutMs: 700 }), { mode: 'sync' }), 'TIMEOUT');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.message).toContain('700 ms');
    expect((await invokeSync(compute, payloadFor('square', [8]))).outcomes[0]).toMatchObject({ value: 64 });
  });

  it('classifies running out of memory as OUT_OF_MEMORY, not retryable', async () => {
    const small = computeFor('fanout-small');
    const error = await expectCode(small.invoke(payloadFor('hog', [null]), { mode: 'sync' }), 'OUT_OF_MEMORY');
    expect(error).toMatchObject({ retryable: false, fault: 'user-code' });
    expect(error.logTail).toMatch(/heap out of memory|Allocation failed/);
    await small.dispose();
  });

  it("reports an exception the task's code threw outside its call as a crash caused by user code", async () => {
    const error = await expectCode(compute.invoke(payloadFor('stray', ['from a timer']), { mode: 'sync' }), 'WORKER_CRASHED');
    expect(error).toMatchObject({ fault: 'user-code', remoteName: 'TypeError', retryable: true });
    expect(error.message).toContain('from a timer');
  });

  it('passes worker failures through with their code: a bundle that fails verification is not retried', async () => {
    const payload = payloadFor('square', [1], { code: { key: codeKey, sha256: '0'.repeat(64), exportName: 'square' } });
    const error = await expectCode(compute.invoke(payload, { mode: 'sync' }), 'CODE_INTEGRITY_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('fanout-runtime');
  });

  it('maps 429 TooManyRequestsException to THROTTLED with Retry-After, in both modes', async () => {
    fixture.lambda.throttleNext(2);
    const syncError = await expectCode(compute.invoke(payloadFor('square', [1]), { mode: 'sync' }), 'THROTTLED');
    const asyncError = await expectCode(compute.invoke(payloadFor('square', [1]), { mode: 'async' }), 'THROTTLED');
    for (const error of [syncError, asyncError]) expect(error).toMatchObject({ retryable: true, retryAfterMs: 1000 });
  });

  it('is throttled past the function concurrency, and the SDK does not retry on its own', async () => {
    const wide = new AwsCompute({ ...fixture.computeOptions('fanout-runtime'), concurrency: 6, maxConcurrency: 6 });
    const before = fixture.lambda.stats.requests;
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, () => wide.invoke(payloadFor('spin', [300]), { mode: 'sync' })));
    const throttled = outcomes.filter((outcome) => outcome.status === 'rejected' && FanoutError.isInstance(outcome.reason, 'THROTTLED'));
    expect(throttled.length).toBeGreaterThanOrEqual(4);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(6 - throttled.length);
    expect(fixture.lambda.stats.requests - before).toBe(6);
    await wide.dispose();
  });

  it('says how to fix a missing function, a function that is not the runtime, and a broken deployment', async () => {
    const missing = await expectCode(computeFor('nowhere').invoke(payloadFor('square', [1]), { mode: 'sync' }), 'CONFIG_INVALID');
    expect(missing.message).toContain('fanout deploy');
    await expectCode(computeFor('someone-else').invoke(payloadFor('square', [1]), { mode: 'sync' }), 'PROTOCOL_ERROR');
    const broken = await expectCode(computeFor('broken').invoke(payloadFor('square', [1]), { mode: 'sync' }), 'BACKEND_UNAVAILABLE');
    expect(broken.retryable).toBe(false);
    expect(broken.message).toContain('Runtime.ImportModuleError');
  });

  it('stops waiting when the signal aborts', async () => {
    await expectAbortStopsWaiting(compute);
  });

  it('sends from dispatch threads once under load, with the same results, error mapping and aborts', async () => {
    const threaded = new AwsCompute({ ...fixture.computeOptions('fanout-runtime'), dispatchThreads: 2 });
    try {
      // A few invocations never start the threads.
      await invokeSync(threaded, payloadFor('square', [3]));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(threaded.dispatchThreadsReady).toBe(false);
      // Forty at once do; the server throttles them, so they cost no function runs.
      fixture.lambda.throttleNext(40);
      await Promise.allSettled(Array.from({ length: 40 }, () => threaded.invoke(payloadFor('square', [1]), { mode: 'async' })));
      const deadline = Date.now() + 20_000;
      while (!threaded.dispatchThreadsReady && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(threaded.dispatchThreadsReady).toBe(true);

      const record = await invokeSync(threaded, payloadFor('square', [6, 7]));
      expect(record.outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual([36, 49]);
      fixture.lambda.throttleNext(1);
      const throttled = await expectCode(threaded.invoke(payloadFor('square', [1]), { mode: 'sync' }), 'THROTTLED');
      expect(throttled).toMatchObject({ retryable: true, retryAfterMs: 1000 });
      await expectCode(threaded.invoke(payloadFor('large', [new Uint8Array(5 * 1024 * 1024)]), { mode: 'sync' }), 'PAYLOAD_TOO_LARGE');
      await expectAbortStopsWaiting(threaded);
    } finally {
      await threaded.dispose();
    }
  });

  it('rejects after dispose', async () => {
    const disposable = computeFor('fanout-runtime');
    await disposable.dispose();
    await expectCode(disposable.invoke(payloadFor('square', [1]), { mode: 'sync' }), 'DISPOSED');
  });
});

describe('billedMsFromLogTail', () => {
  const report = (fields: string) => `START RequestId: r Version: $LATEST\nEND RequestId: r\nREPORT RequestId: r\t${fields}\n`;

  it("reads Lambda's Billed Duration field", () => {
    expect(billedMsFromLogTail(report('Duration: 102.25 ms\tBilled Duration: 103 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\t'))).toBe(103);
    // A cold start: the billed duration includes the initialization.
    expect(
      billedMsFromLogTail(report('Duration: 12.68 ms\tBilled Duration: 309 ms\tMemory Size: 512 MB\tMax Memory Used: 93 MB\tInit Duration: 295.33 ms\t')),
    ).toBe(309);
    // Older runtimes wrote a space before the tab; a tail may also end without a newline.
    expect(billedMsFromLogTail('REPORT RequestId: r\tDuration: 904.52 ms\tBilled Duration: 1000 ms \tMemory Size: 128 MB')).toBe(1000);
  });

  it('reads the last REPORT line, not one the function printed', () => {
    const printed = 'REPORT RequestId: fake\tBilled Duration: 1 ms\t\n';
    expect(billedMsFromLogTail(printed + report('Duration: 40.00 ms\tBilled Duration: 41 ms\t'))).toBe(41);
    expect(billedMsFromLogTail(`log line mentioning Billed Duration: 5 ms\n${report('Duration: 4.00 ms\tBilled Duration: 4 ms\t')}`)).toBe(4);
  });

  it('is undefined without a REPORT line', () => {
    expect(billedMsFromLogTail('')).toBeUndefined();
    expect(billedMsFromLogTail('START RequestId: r Version: $LATEST\nBilled Duration: 5 ms\nEND RequestId: r\n')).toBeUndefined();
  });

  it('is undefined when the field is malformed or missing', () => {
    for (const fields of [
      'Duration: 10.00 ms\tMemory Size: 128 MB\t',
      'Duration: 10.00 ms\tBilled Duration: 10.5 ms\t',
      'Duration: 10.00 ms\tBilled Duration: ms\t',
      'Duration: 10.00 ms\tBilled Duration: -3 ms\t',
      'Duration: 10.00 ms\tBilled Duration: 10ms\t',
      'Duration: 10.00 ms\tBilled Duration: 99999999999999999999 ms\t',
      'Duration: 10.00 ms\tNotBilled Duration: 10 ms\t',
    ]) {
      expect(billedMsFromLogTail(report(fields)), fields).toBeUndefined();
    }
  });
});
