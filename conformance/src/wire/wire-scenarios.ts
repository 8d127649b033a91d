import type { WireFaultRule } from './wire-fault-proxy.js';
import { LAMBDA_INVOKE_KINDS, S3_OBJECT_KINDS, type WireRequestKind } from './wire-requests.js';

/** One job the wire group runs through the fault proxy. */
export type WireScenario = {
  /** Short name, as in the figures line. */
  name: string;
  /** What is injected, in words. */
  description: string;
  mode: 'sync' | 'async';
  /** What the proxy does; the seed comes from the environment. */
  rules: readonly WireFaultRule[];
  /** Tasks whose first run ends their worker process, each in the middle of its range (tasks go ten to an invocation). */
  crashAt?: readonly number[];
  /** Each invocation's `timeoutMs`, before the environment's `timeScale`. Default: {@link WIRE_INVOCATION_TIMEOUT_MS}. */
  invocationTimeoutMs?: number;
  /** The scenario must make the store accept a second record for some range: without that it proves nothing. */
  expectsRepeatedCreates?: boolean;
  /** Some task must have run more than once (its side effect repeated): without that it proves nothing. */
  expectsRerunTasks?: boolean;
  /**
   * Run a small fault-free job on the same executor first, so that the job under faults meets warm
   * workers: for a scenario timed against invocation deadlines, which a cold start would overrun.
   */
  warmUp?: boolean;
};

/**
 * Long enough that no invocation of ten short tasks (one delayed write included) overruns it: a
 * timeout would be a fault the scenario did not plan. A deadline (this plus core's grace) is
 * still what finds an asynchronous invocation whose worker died before its start signal.
 */
export const WIRE_INVOCATION_TIMEOUT_MS = 5_000;

/** What a worker asks of S3: its code and inputs, its start signal, its record. */
const WORKER_STORAGE_KINDS: readonly WireRequestKind[] = ['s3:get', 's3:put', 's3:create'];

/** 10% of the workers' storage requests fail: half with a real 503 SlowDown, half reset mid-answer. */
const workerStorageFaults: WireFaultRule = { origin: 'worker', kinds: WORKER_STORAGE_KINDS, faults: { throttle: 0.05, reset: 0.05 } };

/** The client's Lambda Invokes refused: 15% 429 TooManyRequestsException (Retry-After 1 s), 5% 500 ServiceException. */
const clientInvokeErrors: WireFaultRule = { origin: 'client', kinds: LAMBDA_INVOKE_KINDS, faults: { throttle: 0.15, internalError: 0.05 }, retryAfterSeconds: 1 };

/** Every conditional create forwarded as a plain put: the store no longer refuses a range's second record. */
const unconditionalCreates: WireFaultRule = { kinds: ['s3:create'], unconditional: true };

/**
 * The workers' record writes raced: 10% held 1.5 s (slow originals, which backups race), 10%
 * reset after the store took them (the worker cannot know its write landed: its SDK, or core by
 * running the range again, writes the record a second time).
 */
const racedRecordWrites: WireFaultRule = { origin: 'worker', kinds: ['s3:create'], faults: { delay: 0.1, reset: 0.1 }, delayMs: 1_500 };

/**
 * The scenarios: (a) the workers' storage requests failing; (b) real service errors on the
 * client's invokes and S3 requests (only the S3 ones where compute is not Lambda); (c, d) a worker process exiting in the middle of a range whose
 * earlier tasks had side effects; (e) a store that does not enforce conditional creates, under
 * faults that make a range's records race. Each runs in one mode; (a) to (e) come in both where
 * the mode changes what is exercised (records in responses, or listed and read from storage).
 */
export const WIRE_SCENARIOS: readonly WireScenario[] = [
  {
    name: 'worker-storage-sync',
    description: "10% of the workers' S3 GETs and PUTs (code, records) answered 503 SlowDown or reset mid-answer",
    mode: 'sync',
    rules: [workerStorageFaults],
  },
  {
    name: 'worker-storage-async',
    description: "10% of the workers' S3 GETs and PUTs (code, start signals, records) answered 503 SlowDown or reset mid-answer",
    mode: 'async',
    rules: [workerStorageFaults],
  },
  {
    name: 'client-errors-sync',
    description:
      "the client's RequestResponse invokes answered 429 TooManyRequestsException (15%, Retry-After 1 s) or 500 ServiceException (5%); the first attempt at each of its S3 requests (code, job object) 503 SlowDown or 500 InternalError",
    mode: 'sync',
    // The client makes only a few S3 requests in this mode: each fails once (core retries it in place).
    rules: [clientInvokeErrors, { origin: 'client', kinds: S3_OBJECT_KINDS, faults: { throttle: 0.5, internalError: 0.5 }, oncePerPath: true }],
  },
  {
    name: 'client-errors-async',
    description: "the client's Event invokes answered 429 TooManyRequestsException (15%, Retry-After 1 s) or 500 ServiceException (5%); its S3 requests (listings, record reads) 503 SlowDown or 500 InternalError (5% each)",
    mode: 'async',
    rules: [clientInvokeErrors, { origin: 'client', kinds: S3_OBJECT_KINDS, faults: { throttle: 0.05, internalError: 0.05 } }],
  },
  {
    name: 'worker-exits-mid-range-sync',
    description: 'the worker process of tasks 10-19 and of 100-109 exits (process.exit) at task 15 and 105, after five tasks of its range left side effects',
    mode: 'sync',
    rules: [],
    crashAt: [15, 105],
    expectsRerunTasks: true,
  },
  {
    name: 'worker-exits-mid-range-async',
    description: 'an Event invocation crashes: the worker process of tasks 10-19 and of 100-109 exits at task 15 and 105, after five tasks of its range left side effects',
    mode: 'async',
    rules: [],
    crashAt: [15, 105],
    expectsRerunTasks: true,
  },
  {
    name: 'unconditional-store-sync',
    description:
      "conditional creates sent as plain puts; 10% of the workers' record writes held 1.5 s (backups race them), 10% reset after the store took them; 15% of the client's RequestResponse invokes reset after the worker wrote its record (the retry writes it again)",
    mode: 'sync',
    rules: [unconditionalCreates, racedRecordWrites, { origin: 'client', kinds: ['lambda:invoke-sync'], faults: { reset: 0.15 } }],
    expectsRepeatedCreates: true,
    expectsRerunTasks: true,
  },
  {
    name: 'unconditional-store-async',
    description:
      "conditional creates sent as plain puts; 10% of the workers' record writes held 1.5 s (backups race them), 10% reset after the store took them; 15% of the client's Event invokes reset after Lambda accepted them (the retry runs beside the original)",
    mode: 'async',
    rules: [unconditionalCreates, racedRecordWrites, { origin: 'client', kinds: ['lambda:invoke-async'], faults: { reset: 0.15 } }],
    expectsRepeatedCreates: true,
    expectsRerunTasks: true,
  },
  {
    name: 'late-records-async',
    description:
      "conditional creates sent as plain puts; the client's first listing held 6 s, past the deadlines of the invocations in flight: their ranges are split into single tasks, and the listing holds the late originals' records beside the first singles' (results must be told apart by task, not by record)",
    mode: 'async',
    // One listing path per job: once per path is the first listing only.
    rules: [unconditionalCreates, { origin: 'client', kinds: ['s3:list'], faults: { delay: 1 }, delayMs: 6_000, oncePerPath: true }],
    // Deadlines of 2 s plus core's grace of 2 s fire inside the held listing, and the first single
    // of a split range writes its record before the listing is taken. Each single has a deadline
    // of 4 s too, which a loaded machine running other suites beside this one must meet twice at
    // most (its retry): with 1 s timeouts and a 4 s hold, a single missed both under load.
    // (Shorter would also let cold workers overrun the timeout, which their runtime enforces:
    // they would write no late record.)
    invocationTimeoutMs: 2_000,
    warmUp: true,
    expectsRerunTasks: true,
  },
];
