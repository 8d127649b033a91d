import {
  PROTOCOL_VERSION,
  type ComputeBackendV1,
  type ComputeCapabilitiesV1,
  type InvocationPayloadV1,
  type InvokeResultV1,
  type StorageBackendV1,
} from '@fanout/spec';
import { emptyRequestCounts, encodeRecord, serializeValue } from '@fanout/worker';
import { describe, expect, it } from 'vitest';
import { encodeJobObject } from '../protocol/job-object.js';
import { StorageLayout } from '../protocol/layout.js';
import { createLanes } from '../lanes/lane.js';
import { JobLane } from './job-lane.js';
import { JobRun } from './job-run.js';
import { jobStorageFor } from './new-run.js';

const layout = new StorageLayout('fanout');

/** The record a worker would write for one payload: every task returns its index. */
function recordFor(payload: InvocationPayloadV1): Uint8Array {
  const { first, count } = payload.tasks;
  return encodeRecord({
    protocol: PROTOCOL_VERSION,
    jobId: payload.jobId,
    attempt: payload.attempt,
    tasks: payload.tasks,
    outcomes: Array.from({ length: count }, (_, offset) => ({ ok: true, value: first + offset, durationMs: 0 })),
    startedMs: 0,
    finishedMs: 0,
    coldStart: false,
    logTail: '',
    storage: emptyRequestCounts(),
  });
}

/** A job of `taskCount` one-task invocations over a compute that answers with `respond`. */
function newRun(options: {
  taskCount: number;
  concurrency: number;
  capabilities?: ComputeCapabilitiesV1;
  jobObjectWritten: Promise<void>;
  respond: (payload: InvocationPayloadV1) => Promise<InvokeResultV1>;
  storage?: Partial<StorageBackendV1>;
  /** `false`: the job reads every input from the job object, as a large one on the local backend does. */
  inline?: boolean;
  timeoutMs?: number;
}) {
  const { manifest, inputs } = encodeJobObject(
    {
      protocol: PROTOCOL_VERSION,
      id: 'job-1',
      createdMs: 0,
      label: 'test',
      code: { key: 'code', sha256: 'sha', exportName: 'default' },
      taskCount: options.taskCount,
      chunkSize: 1,
      timeoutMs: options.timeoutMs ?? 60_000,
    },
    Array.from({ length: options.taskCount }, (_, index) => [serializeValue(index)]),
  );
  const payloads: InvocationPayloadV1[] = [];
  const capabilities: ComputeCapabilitiesV1 = { syncInvoke: true, maxConcurrency: options.concurrency, ...options.capabilities };
  const compute: ComputeBackendV1 = {
    specificationVersion: 'v1',
    name: 'fake',
    capabilities,
    invoke: (payload) => {
      payloads.push(payload);
      return options.respond(payload);
    },
  };
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const storage = { specificationVersion: 'v1', name: 'memory', capabilities: {}, ...options.storage } as StorageBackendV1;
  const [lane] = createLanes([{ name: 'fake', compute, storage, storageKey: 'memory', weight: 1, concurrency: options.concurrency, mode: undefined }], undefined);
  const jobStorage = { ...jobStorageFor(lane!.storage), written: options.jobObjectWritten };
  const run = new JobRun({
    manifest,
    inputs: options.inline === false ? undefined : inputs,
    lanes: [new JobLane(lane!, 'sync', jobStorage, options.concurrency, true)],
    layout,
    budgetUsd: undefined,
    retries: { transient: 0, timeout: 0, crash: 0, outOfMemory: 0, userCode: 0, throttled: 0 },
    backups: false,
    durable: true,
    onResult: () => undefined,
    onDone: finish,
  });
  return { run, payloads, done };
}

const sendsInline = (payload: InvocationPayloadV1) => 'inline' in payload.inputs;

/** A promise settled from outside: a job object whose write the test completes when it chooses. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

describe('JobRun', () => {
  it('sends every input by reference, once the job object is stored, for a job that reads stored inputs', async () => {
    const { promise: jobObjectWritten, resolve: stored } = deferred();
    const { run, payloads, done } = newRun({
      taskCount: 4,
      concurrency: 2,
      inline: false,
      jobObjectWritten,
      respond: async (payload) => ({ mode: 'sync', record: recordFor(payload) }),
    });
    run.start();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(payloads, 'nothing goes out before the job object is stored').toEqual([]);
    stored();
    await done;
    expect(payloads.map(sendsInline)).toEqual([false, false, false, false]);
    expect(payloads[2]!.inputs).toMatchObject({ key: layout.jobKey('job-1') });
  });

  it('starts an invocation\'s deadline when it goes out, not while it waits for the job object', async () => {
    const { promise: jobObjectWritten, resolve: stored } = deferred();
    const { run, payloads, done } = newRun({
      taskCount: 2,
      concurrency: 2,
      inline: false,
      // A deadline of 50 ms plus the 2 s grace, shorter than the wait for the job object.
      timeoutMs: 50,
      jobObjectWritten,
      respond: async (payload) => ({ mode: 'sync', record: recordFor(payload) }),
    });
    run.start();
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    stored();
    await done;
    expect(payloads).toHaveLength(2);
    expect(run.outcomes.map((outcome) => outcome?.ok)).toEqual([true, true]);
  });

  it('sends inputs that fit the budget inline, by default', async () => {
    const { run, payloads, done } = newRun({
      taskCount: 4,
      concurrency: 2,
      jobObjectWritten: Promise.resolve(),
      respond: async (payload) => ({ mode: 'sync', record: recordFor(payload) }),
    });
    await Promise.resolve();
    run.start();
    await done;
    expect(payloads.map(sendsInline)).toEqual([true, true, true, true]);
  });

  it('starts the next invocation while a finished one reads its record back from storage', async () => {
    const reads: (() => void)[] = [];
    const records = new Map<string, Uint8Array>();
    const { run, payloads, done } = newRun({
      taskCount: 2,
      concurrency: 1,
      jobObjectWritten: Promise.resolve(),
      // Too large for the response: the record is only in storage.
      respond: async (payload) => {
        records.set(payload.resultKey, recordFor(payload));
        return { mode: 'sync', record: undefined };
      },
      storage: {
        get: (key: string) => new Promise<Uint8Array | undefined>((resolve) => reads.push(() => resolve(records.get(key)))),
      },
    });
    run.start();
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The first record is still being read, and the second invocation is out already.
    expect(payloads).toHaveLength(2);
    expect(reads).toHaveLength(2);
    for (const read of reads) read();
    await done;
    expect(run.outcomes.map((outcome) => outcome?.ok && outcome.value)).toEqual([0, 1]);
  });
});
