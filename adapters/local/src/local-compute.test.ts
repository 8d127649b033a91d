import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serialize } from 'node:v8';
import { FanoutError, type ErrorCode, type InvocationPayloadV1, type ResultRecordV1 } from '@fanout/spec';
import { decodeInvocationFailure, decodeRecord, frame, serializeValue } from '@fanout/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invocationPayload } from '../test/invocation-payload.js';
import { LOCAL_STORED_INPUTS_ABOVE_BYTES, LocalCompute } from './local-compute.js';
import { LocalStorage } from './local-storage.js';

// The task bundle, as core's bundler would produce it: one self-contained ES module.
const bundle = `
export function square(value) { return value * value; }
export function fail(message) { throw new RangeError(message); }
export function exit(code) { process.exit(code); }
export function hog() { const keep = []; for (;;) keep.push({ value: Math.random(), list: [1, 2, 3] }); }
export function forever() { for (;;) {} }
export function spin(milliseconds) { const end = Date.now() + milliseconds; while (Date.now() < end) {} return 'finished'; }
export function pid() { return process.pid; }
export function large(bytes) { return new Uint8Array(bytes).fill(1); }
export function chatty(value) { console.log('hello from task', value); return value; }
`;
const sha256 = createHash('sha256').update(bundle).digest('hex');
const codeKey = `code/${sha256}.mjs`;

let root: string;
let storage: LocalStorage;
let compute: LocalCompute;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fanout-local-compute-'));
  storage = new LocalStorage({ root });
  await storage.put(codeKey, new TextEncoder().encode(bundle));
  compute = new LocalCompute({ storageReference: storage.reference, workers: 2, memoryMb: 256 });
});

afterAll(async () => {
  await compute?.dispose();
  await storage?.dispose();
  await rm(root, { recursive: true, force: true });
});

function payloadFor(exportName: string, inputs: unknown[], overrides: Partial<InvocationPayloadV1> = {}): InvocationPayloadV1 {
  return invocationPayload({ codeKey, sha256 }, exportName, inputs, overrides);
}

async function invokeSync(target: LocalCompute, payload: InvocationPayloadV1, signal?: AbortSignal): Promise<ResultRecordV1> {
  const result = await target.invoke(payload, { mode: 'sync', ...(signal ? { signal } : {}) });
  if (result.mode !== 'sync' || !result.record) throw new Error(`expected a synchronous record, got ${JSON.stringify(result)}`);
  return decodeRecord(result.record, 'the response');
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FanoutError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(FanoutError.isInstance(error), `expected a FanoutError ${code}, got ${String(error)}`).toBe(true);
  expect((error as FanoutError).code).toBe(code);
  return error as FanoutError;
}

async function squareStillWorks(target: LocalCompute): Promise<void> {
  const record = await invokeSync(target, payloadFor('square', [7]));
  expect(record.outcomes[0]).toMatchObject({ ok: true, value: 49 });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`nothing after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('LocalCompute invocations', () => {
  it('runs tasks synchronously and returns the record, also written to storage', async () => {
    const payload = payloadFor('square', [1, 2, 3]);
    const record = await invokeSync(compute, payload);
    expect(record.outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual([1, 4, 9]);
    expect(record.jobId).toBe(payload.jobId);
    const stored = await storage.get(payload.resultKey);
    expect(decodeRecord(stored!, 'stored').outcomes).toHaveLength(3);
  });

  it('keeps children warm: the next invocation reuses the process and its imported code', async () => {
    const first = await invokeSync(compute, payloadFor('pid', [null]));
    const second = await invokeSync(compute, payloadFor('pid', [null]));
    const third = await invokeSync(compute, payloadFor('pid', [null]));
    expect(third.coldStart).toBe(false);
    const pids = new Set([first, second, third].map((record) => record.outcomes[0]?.ok && record.outcomes[0].value));
    expect(pids.size).toBeLessThanOrEqual(2);
  });

  it('returns a task that throws as a USER_CODE_ERROR outcome with name, message and stack', async () => {
    const record = await invokeSync(compute, payloadFor('fail', ['bad input']));
    const outcome = record.outcomes[0];
    expect(outcome?.ok).toBe(false);
    if (outcome?.ok !== false) return;
    expect(outcome.error).toMatchObject({ code: 'USER_CODE_ERROR', name: 'RangeError', message: 'bad input' });
    expect(outcome.error.stack).toContain('fail');
  });

  it('captures task output into the record instead of the terminal', async () => {
    const record = await invokeSync(compute, payloadFor('chatty', [5]));
    expect(record.logTail).toContain('hello from task 5');
  });

  it('queues invocations beyond the pool size and runs them all', async () => {
    const records = await Promise.all(Array.from({ length: 5 }, () => invokeSync(compute, payloadFor('spin', [50]))));
    expect(records.every((record) => record.outcomes[0]?.ok)).toBe(true);
  });

  it('reads inputs too large for the payload from storage with a byte range', async () => {
    const framed = frame([10, 11, 12].map((value) => serializeValue(value)));
    const inputKey = `jobs/${randomUUID()}/inputs`;
    await storage.put(inputKey, framed);
    const oneFrame = framed.byteLength / 3;
    const payload = payloadFor('square', [0, 0], { inputs: { key: inputKey, start: oneFrame, end: framed.byteLength } });
    const record = await invokeSync(compute, payload);
    expect(record.outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual([121, 144]);
  });

  it('returns no record in the response when none is asked for', async () => {
    const payload = payloadFor('square', [4], { respond: false });
    expect(await compute.invoke(payload, { mode: 'sync' })).toEqual({ mode: 'sync', record: undefined });
    expect(decodeRecord((await storage.get(payload.resultKey))!, 'stored').outcomes[0]).toMatchObject({ value: 16 });
  });

  it('leaves a record larger than maxResponseBytes out of the response; it is read from storage', async () => {
    const payload = payloadFor('large', [compute.capabilities.maxResponseBytes! + 1]);
    expect(await compute.invoke(payload, { mode: 'sync' })).toEqual({ mode: 'sync', record: undefined });
    const stored = decodeRecord((await storage.get(payload.resultKey))!, 'stored');
    expect(stored.outcomes[0]?.ok && (stored.outcomes[0].value as Uint8Array).byteLength).toBe(compute.capabilities.maxResponseBytes! + 1);
  }, 20_000);

  it('in async mode returns at once and the record appears in storage', async () => {
    const payload = payloadFor('square', [9], { respond: false });
    expect(await compute.invoke(payload, { mode: 'async' })).toEqual({ mode: 'async' });
    const stored = await waitFor(() => storage.get(payload.resultKey), 10_000);
    expect(decodeRecord(stored, 'stored').outcomes[0]).toMatchObject({ ok: true, value: 81 });
  });

  it('in async mode reports a crashed invocation at its failedKey, as a platform failure destination would', async () => {
    const reporting = new LocalCompute({ storageReference: storage.reference, workers: 1, memoryMb: 256, failureStorage: storage });
    try {
      const payload = payloadFor('exit', [3], { respond: false });
      const failedKey = `${payload.resultKey}.failed-1`;
      await reporting.invoke({ ...payload, failedKey }, { mode: 'async' });
      const failure = decodeInvocationFailure(await waitFor(() => storage.get(failedKey), 10_000), failedKey);
      expect(failure.code).toBe('WORKER_CRASHED');
      expect(failure.retryable).toBe(true);
      expect(failure.message).toContain('code 3');
      expect(await storage.get(payload.resultKey), 'no record').toBeUndefined();
    } finally {
      await reporting.dispose();
    }
  });

  it('keeps the first record when a second attempt writes the same result key', async () => {
    const first = payloadFor('square', [2]);
    await invokeSync(compute, first);
    await invokeSync(compute, { ...payloadFor('square', [3]), jobId: first.jobId, resultKey: first.resultKey, attempt: 2 });
    const stored = decodeRecord((await storage.get(first.resultKey))!, 'stored');
    expect(stored.attempt).toBe(1);
    expect(stored.outcomes[0]).toMatchObject({ value: 4 });
  });
});

describe('LocalCompute failures', () => {
  it('rejects WORKER_CRASHED when the task exits the process, then keeps working', async () => {
    const error = await expectCode(compute.invoke(payloadFor('exit', [1]), { mode: 'sync' }), 'WORKER_CRASHED');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('code 1');
    await squareStillWorks(compute);
  });

  it('rejects OUT_OF_MEMORY when a task outgrows memoryMb, then keeps working', async () => {
    const small = new LocalCompute({ storageReference: storage.reference, workers: 1, memoryMb: 64 });
    try {
      const error = await expectCode(small.invoke(payloadFor('hog', [null]), { mode: 'sync' }), 'OUT_OF_MEMORY');
      expect(error.retryable).toBe(false);
      expect(error.fault).toBe('user-code');
      await squareStillWorks(small);
    } finally {
      await small.dispose();
    }
  }, 20_000);

  it('rejects TIMEOUT soon after timeoutMs for a task that never returns, then keeps working', async () => {
    const started = Date.now();
    const error = await expectCode(compute.invoke(payloadFor('forever', [null], { timeoutMs: 500 }), { mode: 'sync' }), 'TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.retryable).toBe(true);
    await squareStillWorks(compute);
  });

  it('kills the work when the signal aborts: no record is ever written', async () => {
    const controller = new AbortController();
    const payload = payloadFor('spin', [1200]);
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    await expectCode(compute.invoke(payload, { mode: 'sync', signal: controller.signal }), 'ABORTED');
    expect(Date.now() - started).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 1400));
    expect(await storage.get(payload.resultKey)).toBeUndefined();
    await squareStillWorks(compute);
  });

  it('reports worker-level failures with their code: a tampered bundle, a missing bundle', async () => {
    const tampered = payloadFor('square', [1]);
    tampered.code = { ...tampered.code, sha256: 'f'.repeat(64) };
    const integrity = await expectCode(compute.invoke(tampered, { mode: 'sync' }), 'CODE_INTEGRITY_FAILED');
    expect(integrity.retryable).toBe(false);
    const missing = payloadFor('square', [1]);
    missing.code = { ...missing.code, key: 'code/absent.mjs', sha256: '0'.repeat(64) };
    await expectCode(compute.invoke(missing, { mode: 'sync' }), 'PROTOCOL_ERROR');
  });

  it('reads a large job\'s inputs from the stored job object only with the folder storage, where a read is one system call', async () => {
    expect(compute.capabilities.storedInputsAboveBytes).toBe(LOCAL_STORED_INPUTS_ABOVE_BYTES);
    const remote = new LocalCompute({ storageReference: { module: '@fanout/adapter-aws', options: {} }, workers: 1, memoryMb: 128 });
    expect(remote.capabilities.storedInputsAboveBytes).toBe(Number.POSITIVE_INFINITY);
    await remote.dispose();
  });

  it('fails invocations with CONFIG_INVALID when the children cannot open the storage', async () => {
    const pool = new LocalCompute({ storageReference: { module: '@fanout/no-such-adapter', options: {} }, workers: 1, memoryMb: 128 });
    try {
      const error = await expectCode(pool.invoke(payloadFor('square', [1]), { mode: 'sync' }), 'CONFIG_INVALID');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('@fanout/no-such-adapter');
    } finally {
      await pool.dispose();
    }
  });

  it('rejects DISPOSED for running, queued and later invocations', async () => {
    const pool = new LocalCompute({ storageReference: storage.reference, workers: 1, memoryMb: 128 });
    const running = pool.invoke(payloadFor('spin', [2000]), { mode: 'sync' });
    const queued = pool.invoke(payloadFor('square', [1]), { mode: 'sync' });
    const runningFailure = expectCode(running, 'DISPOSED');
    const queuedFailure = expectCode(queued, 'DISPOSED');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await pool.dispose();
    await runningFailure;
    await queuedFailure;
    await expectCode(pool.invoke(payloadFor('square', [1]), { mode: 'sync' }), 'DISPOSED');
  });
});

describe('LocalCompute and the client process', () => {
  const indexUrl = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href;

  /** Run a client script in its own Node process and collect its stdout. */
  function runClient(script: string, payload: InvocationPayloadV1) {
    const payloadFile = join(root, `payload-${randomUUID()}.bin`);
    const source = `
      import { readFileSync } from 'node:fs';
      import { deserialize } from 'node:v8';
      import { LocalCompute, LocalStorage } from ${JSON.stringify(indexUrl)};
      const storage = new LocalStorage({ root: ${JSON.stringify(root)} });
      const compute = new LocalCompute({ storageReference: storage.reference, workers: 1, memoryMb: 128 });
      const payload = deserialize(readFileSync(${JSON.stringify(payloadFile)}));
      ${script}
    `;
    return writeFile(payloadFile, serialize(payload)).then(() =>
      spawn(process.execPath, ['--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] }),
    );
  }

  it('lets a script that forgets dispose() exit once its work is done', async () => {
    const payload = payloadFor('square', [6]);
    const client = await runClient(
      `const result = await compute.invoke(payload, { mode: 'sync' }); console.log(result.record.byteLength > 0);`,
      payload,
    );
    let output = '';
    client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const started = Date.now();
    const exitCode = await new Promise<number | null>((resolve) => client.on('exit', resolve));
    expect(exitCode).toBe(0);
    expect(output.trim()).toBe('true');
    expect(Date.now() - started).toBeLessThan(8000);
  }, 15_000);

  it('stops its children when the client is killed', async () => {
    const client = await runClient(
      `const result = await compute.invoke(payload, { mode: 'sync' });
       const { decodeRecord } = await import(${JSON.stringify(pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'packages', 'worker', 'dist', 'index.js')).href)});
       console.log(decodeRecord(result.record, 'response').outcomes[0].value);
       setInterval(() => undefined, 1000);`,
      payloadFor('pid', [null]),
    );
    const childPid = await new Promise<number>((resolve) => client.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    expect(childPid).toBeGreaterThan(0);
    expect(isAlive(childPid)).toBe(true);
    client.kill('SIGKILL');
    await waitFor(async () => (isAlive(childPid) ? undefined : true), 5000);
  }, 15_000);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // An exited process stays a zombie until its new parent reaps it, which some container inits do lazily.
  try {
    const status = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return status.slice(status.lastIndexOf(')') + 2, status.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
