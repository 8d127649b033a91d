import type { ResolvedComputeCapabilities, StorageBackendV1, StorageRequestCounts } from '@fanout/spec';
import { emptyRequestCounts, type CountingStorage } from '@fanout/worker';
import { billedMemoryMb, billedMs, invocationCostUsd, storageCostUsd } from '../cost/prices.js';
import type { Lane, LaneStorage } from '../lanes/lane.js';
import { RunWatch } from './liveness.js';
import type { FailureClass } from './retry-policy.js';

/** What one lane did for one job, behind the per-lane part of `job.stats()`. */
export type LaneCounters = {
  attempts: number;
  succeeded: number;
  retried: number;
  throttled: number;
  backups: number;
  /** Tasks whose outcome came from this lane's records. */
  tasks: number;
  failures: Partial<Record<FailureClass, number>>;
  workerStorage: StorageRequestCounts;
  /** Epoch milliseconds (workers' clocks) at which the lane's earliest record started and its latest finished. */
  firstStartedMs: number;
  lastFinishedMs: number;
  /** Measured (worker-side) durations of the invocations whose records were read. */
  invocationMs: number;
  invocationRecords: number;
  /** Billed duration of those invocations: the platform's figure where it reports one, else by the price rules. */
  billedMs: number;
  /** Compute cost of the invocations whose records were read, by the lane's prices. */
  computeUsd: number;
};

/** One job's storage of one lane: every request counted for `stats()`, and retried. */
export type JobStorage = { lane: LaneStorage; counting: CountingStorage; storage: StorageBackendV1; written: Promise<void> };

/** One lane as one job uses it: the lane, the job's mode and cap on it, its storage, its counters. */
export class JobLane {
  readonly counters: LaneCounters = {
    attempts: 0,
    succeeded: 0,
    retried: 0,
    throttled: 0,
    backups: 0,
    tasks: 0,
    failures: {},
    workerStorage: emptyRequestCounts(),
    firstStartedMs: 0,
    lastFinishedMs: 0,
    invocationMs: 0,
    invocationRecords: 0,
    billedMs: 0,
    computeUsd: 0,
  };
  /** Concurrency slots of the lane's controller this job holds. */
  holding = 0;
  /** How long this job's asynchronous invocations run on the lane once started. */
  readonly runs = new RunWatch();

  constructor(
    readonly lane: Lane,
    readonly mode: 'sync' | 'async',
    readonly jobStorage: JobStorage,
    /** Most invocations this job may have in flight on the lane. */
    readonly limit: number,
    /** Whether this lane's client requests are reported with it (the first lane on a shared storage). */
    readonly reportsClientStorage: boolean,
  ) {}

  get name(): string {
    return this.lane.name;
  }

  get capabilities(): ResolvedComputeCapabilities {
    return this.lane.capabilities;
  }

  get storage(): StorageBackendV1 {
    return this.jobStorage.storage;
  }

  /** Whether both the lane's compute and its storage declare prices. */
  get priced(): boolean {
    return this.lane.capabilities.prices !== undefined && this.lane.storage.capabilities.prices !== undefined;
  }

  /** The duration billed for an invocation that ran `durationMs`: the platform's figure, else by the price rules (0 unpriced). */
  billedMsOf(durationMs: number, billed?: number): number {
    const prices = this.lane.capabilities.prices;
    return billed ?? (prices ? billedMs(durationMs, prices) : 0);
  }

  /** What one invocation running `durationMs` costs on this lane, with `billed` where the platform said. */
  invocationUsd(durationMs: number, billed?: number): number {
    const prices = this.lane.capabilities.prices;
    if (!prices) return 0;
    return invocationCostUsd(durationMs, billedMemoryMb(prices, this.lane.capabilities.maxMemoryMb), prices, billed);
  }

  /** Storage cost of this lane's requests so far: the client's (if reported here) and its workers'. */
  storageUsd(): number {
    const prices = this.lane.storage.capabilities.prices;
    if (!prices) return 0;
    const client = this.reportsClientStorage ? this.jobStorage.counting.counts : emptyRequestCounts();
    // The client reads records from outside the store's platform: that is egress, unless the store is on this machine.
    return storageCostUsd(client, prices, client.bytesRead) + storageCostUsd(this.counters.workerStorage, prices);
  }

  /** Cost so far: compute of the invocations read back, storage of every request. */
  spentUsd(): number {
    return this.counters.computeUsd + this.storageUsd();
  }

  /** Mean measured invocation duration on this lane so far, or `undefined` before any record. */
  meanInvocationMs(): number | undefined {
    return this.counters.invocationRecords ? this.counters.invocationMs / this.counters.invocationRecords : undefined;
  }
}

/**
 * The lanes that may take work now, least loaded for their weight first. A lane whose breaker is
 * open is left out while another lane of the job is healthy; when none is, every lane is tried,
 * so a job with nowhere else to go keeps retrying by its policy.
 */
export function dispatchOrder(lanes: readonly JobLane[]): JobLane[] {
  const healthy = lanes.some((lane) => lane.lane.breaker.state === 'closed');
  return lanes
    .filter((lane) => lane.holding < lane.limit && (!healthy || lane.lane.breaker.allows()))
    .sort((a, b) => a.holding / a.lane.weight - b.holding / b.lane.weight);
}
