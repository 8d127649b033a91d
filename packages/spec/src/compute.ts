import type { InvocationPayloadV1 } from './protocol.js';
import type { PAYLOAD_ENVELOPE_BYTES } from './defaults.js';

/** How an invocation is made. */
export type InvocationMode =
  /** The call returns when the worker is done, with its result record in the response. */
  | 'sync'
  /** The call returns once the platform accepted the work; the record appears in storage. */
  | 'async';

/**
 * What a compute backend declares about itself. Absent fields take the documented defaults, so
 * adding a capability never breaks an old adapter.
 */
export type ComputeCapabilitiesV1 = {
  /** Supports `mode: 'sync'`. Default: `false`. */
  syncInvoke?: boolean;
  /** Supports `mode: 'async'`. Default: `true`. At least one mode must be supported. */
  asyncInvoke?: boolean;
  /**
   * Largest encoded payload accepted per mode, in bytes (as measured by
   * {@link ComputeBackendV1.payloadSize}). Core keeps inline inputs under it and reads the rest
   * from storage. Default: 256 KiB for both.
   */
  maxPayloadBytes?: { sync?: number; async?: number };
  /** Largest record a synchronous response can carry, in bytes. Larger ones are read from storage. Default: 256 KiB. */
  maxResponseBytes?: number;
  /** Longest an invocation may run, in milliseconds. Default: 15 minutes. */
  maxTimeoutMs?: number;
  /** Most memory an invocation may be given, in MiB. Default: unknown (no check). */
  maxMemoryMb?: number;
  /** Concurrency core uses when the user sets none. Default: 64. */
  defaultConcurrency?: number;
  /** Hard ceiling on concurrent invocations. Default: 1000. */
  maxConcurrency?: number;
  /**
   * Whether the backend tells a timeout, an out-of-memory kill and a crash apart in its errors.
   * Default: `false` (core then treats an unexplained failure as `WORKER_CRASHED`).
   */
  classifiesFailures?: boolean;
  /**
   * Whether aborting an invocation's signal stops a worker that is already running, so that it
   * writes no record. Platforms that cannot stop a running function (Lambda, Cloud Functions)
   * leave it out; aborting then only stops waiting. Default: `false`.
   */
  cancelsRunningInvocations?: boolean;
  /**
   * A job whose inputs add up to more than this many bytes sends every invocation's inputs by
   * reference (a byte range of the stored job object), even those that would fit
   * `maxPayloadBytes`; its invocations start once the job object is stored. For a backend whose
   * workers read a range of the job object more cheaply than the client can carry the bytes in a
   * payload: local processes read the page cache with one system call, where an inline payload is
   * copied, serialized and piped on both sides. A smaller job travels inline, saving a read per
   * invocation. Default: `Infinity` (inputs that fit `maxPayloadBytes` always travel inline, which
   * saves a storage request per invocation on a cloud platform).
   */
  storedInputsAboveBytes?: number;
  /**
   * Invocations per unit of concurrency that automatic chunking aims for. More, smaller
   * invocations balance the tail of a job better and hold smaller records; each costs one
   * invocation's overhead. Default: 4.
   */
  invocationsPerSlot?: number;
  /**
   * What the platform charges for compute, so core can estimate a job's cost before it runs and
   * report it after. Default: `undefined` (unknown: costs are reported as unknown, and a job
   * with a `budgetUsd` is refused). A backend that costs nothing declares zeros.
   */
  prices?: ComputePricesV1;
};

/**
 * A compute platform's list prices, in US dollars, free tiers ignored. Adapters cite the price
 * page and the date they read it beside the numbers. Absent fields are 0 (granularity 1 ms).
 *
 * An invocation is billed `perInvocationUsd` plus `perGbSecondUsd` times its memory in GB
 * (`memoryMb / 1024`) times its billed duration: the measured duration raised to at least
 * `minimumBilledMs`, then rounded up to a multiple of `billingGranularityMs`.
 */
export type ComputePricesV1 = {
  /** Charged once per invocation (request). */
  perInvocationUsd?: number;
  /** Charged per GB-second of the invocation's memory. */
  perGbSecondUsd?: number;
  /** Billed durations are rounded up to a multiple of this many milliseconds. Default: 1. */
  billingGranularityMs?: number;
  /** Shortest duration billed for one invocation, in milliseconds. Default: 0. */
  minimumBilledMs?: number;
  /** Memory billed per invocation, in MiB. Default: `maxMemoryMb` (the memory workers are given). */
  memoryMb?: number;
};

export type InvokeOptions = {
  mode: InvocationMode;
  /** Cancels the invocation; a running worker is stopped where the platform allows it. */
  signal?: AbortSignal;
};

/** What a successful invoke returns. */
export type InvokeResultV1 =
  | {
      mode: 'sync';
      /**
       * The encoded result record from the worker's response, or `undefined` when it was too
       * large for the response and must be read from the payload's `resultKey`.
       */
      record: Uint8Array | undefined;
      /**
       * The duration the platform billed for this invocation, in milliseconds, where its response
       * says (Lambda's log tail does). Optional: core otherwise bills the worker's measured
       * duration by `prices`.
       */
      billedMs?: number;
    }
  | { mode: 'async' };

/**
 * Version 1 of the compute contract: runs the generic worker on a platform.
 *
 * `invoke` rejects with a `FanoutError` whose code classifies the failure:
 * `THROTTLED` (with `retryAfterMs` where known), `BACKEND_UNAVAILABLE`, `TIMEOUT`,
 * `OUT_OF_MEMORY`, `WORKER_CRASHED`, `PAYLOAD_TOO_LARGE`, `ACCESS_DENIED`, `ABORTED`.
 * A task that throws is not an invoke failure: it is an outcome inside the record.
 * Backends must not retry on their own; core owns retries.
 */
export interface ComputeBackendV1 {
  readonly specificationVersion: 'v1';
  /** Short name for logs and reports, such as `local` or `lambda`. */
  readonly name: string;
  readonly capabilities: ComputeCapabilitiesV1;

  /** Run the worker on one payload. */
  invoke(payload: InvocationPayloadV1, options: InvokeOptions): Promise<InvokeResultV1>;

  /**
   * The size in bytes this payload has on the wire, compared against `maxPayloadBytes`.
   * Optional; default: the inline input bytes plus {@link PAYLOAD_ENVELOPE_BYTES} for the envelope.
   */
  payloadSize?(payload: InvocationPayloadV1): number;

  /** Stop workers and release resources. Further calls reject with `DISPOSED`. Optional. */
  dispose?(): Promise<void>;
}
