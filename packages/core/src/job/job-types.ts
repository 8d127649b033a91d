import type { FanoutError, StorageRequestCounts } from '@fanout/spec';
import type { SetAsideObject } from '../protocol/set-aside.js';
import type { WaitingSummary } from '../scheduler/liveness.js';

/** A task: an exported function of an ordinary module, taking one input. */
export type TaskFunction<Input = never, Output = unknown> = (input: Input) => Output | Promise<Output>;

/**
 * A task named by module and export instead of by value, for callers that do not import the
 * module themselves (the CLI, a job description stored elsewhere).
 */
export type TaskReference = {
  /** Path (relative to the working directory) or `file:` URL of the task module. */
  module: string;
  /** The export to call. Default: `default`. */
  exportName?: string;
};

/** How one task ended, as returned by {@link Job.settled} and async iteration. */
export type TaskResult<Output> =
  | { index: number; ok: true; value: Output; durationMs: number }
  | { index: number; ok: false; error: FanoutError; durationMs: number };

/** What `wait` waits for: every task, the first one, or a fraction of them (0 < f ≤ 1). */
export type WaitCondition = 'all' | 'any' | number;

export type WaitOptions = {
  /** What to wait for. Default: `'all'`. */
  until?: WaitCondition;
  /** Give up after this many milliseconds with `WAIT_TIMEOUT`; the job goes on. Default: no limit. */
  timeoutMs?: number;
  signal?: AbortSignal;
};

/** Summary statistics for a span of durations, in milliseconds. */
export type DurationSummary = { count: number; meanMs: number; p50Ms: number; p95Ms: number; maxMs: number };

/** What `job.stats()` reports. Every number is measured, not estimated. */
export type JobStats = {
  jobId: string;
  state: JobState;
  tasks: { total: number; succeeded: number; failed: number; pending: number };
  invocations: {
    /** Task ranges the job was cut into (before any split after a crash). */
    planned: number;
    /** Invocations made, retries and backups included (for a re-attached job, those its records show plus those this client made). */
    attempts: number;
    succeeded: number;
    retried: number;
    backups: number;
    /** Records for task ranges that had already completed (backups, late retries); ignored. */
    duplicates: number;
    throttled: number;
    coldStarts: number;
  };
  /** Tasks per invocation the job was planned with. */
  chunkSize: number;
  /** The lanes' invocation mode, or `mixed` when lanes differ. */
  mode: 'sync' | 'async' | 'mixed';
  storage: {
    /**
     * Requests this client made for the job. None for an inspection (`executor.inspect`,
     * `fanout status`): storage does not keep the requests of the client that ran the job.
     */
    client: StorageRequestCounts;
    /** Requests the workers reported in their records. */
    worker: StorageRequestCounts;
    /** Client requests made once per job (code upload check, job object; re-attached: reading the job and its records). */
    fixedRequests: number;
    /** All requests, client and worker. */
    totalRequests: number;
    /** (total - fixed) / tasks. */
    requestsPerTask: number;
    /**
     * Of an inspection only: the requests it made to read the job (manifest, listings, records).
     * They are not the job's, and are in none of the figures above.
     */
    inspection?: StorageRequestCounts;
  };
  timings: {
    /**
     * From submission to the last task done, or to now while this client runs the job. An
     * inspected job's ends with the last record in storage, so every look at a finished job
     * reports the same; a re-attached job's leaves out the time when no client was running it
     * (from its last record before re-attaching to the re-attachment).
     */
    wallMs: number;
    tasks: DurationSummary;
    invocations: DurationSummary;
  };
  /** What each lane did, in the order the job named them. */
  lanes: LaneStats[];
  /**
   * What the job is waiting for: ranges queued, invocations in flight, asynchronous invocations
   * accepted and not started (and how long the oldest has waited), and how many were re-sent as
   * lost or backed up after they stopped reporting. `describeWaiting` says it in words.
   */
  waiting: WaitingSummary;
  /**
   * Objects under the job's results that should have been records and were not (not decodable,
   * or too large to be one), each with its key, why, and where it was moved; their tasks ran
   * again. `describeSetAside` says it in words.
   */
  setAside: SetAsideObject[];
  /** What was repaired in storage while the job ran, in words (a corrupt code bundle replaced from this client's copy). */
  repaired: string[];
  /**
   * The job's cost so far in US dollars, by the lanes' declared prices: compute of every
   * invocation whose record was read (the platform's billed duration where it reports one, else
   * the measured duration by the price rules) and storage of every request, client and workers.
   * `null` when a lane declares no prices.
   */
  costUsd: number | null;
};

/** One lane's part of a job. */
export type LaneStats = {
  name: string;
  /** The compute and storage backends' names. */
  backends: { compute: string; storage: string };
  mode: 'sync' | 'async';
  /** Tasks whose outcome came from this lane. */
  tasks: number;
  invocations: {
    attempts: number;
    succeeded: number;
    retried: number;
    backups: number;
    throttled: number;
    /** Failed attempts by class: throttled, transient, timeout, lost, crash, outOfMemory, fatal. */
    failures: Partial<Record<'throttled' | 'transient' | 'timeout' | 'lost' | 'crash' | 'outOfMemory' | 'fatal', number>>;
  };
  /** The lane's concurrency cap now (after throttling) and its ceiling, shared by every job on the lane. */
  concurrency: { cap: number; ceiling: number };
  /** `open`: the lane was taken out after repeated failures; `half-open`: a probe may go out. */
  breaker: 'closed' | 'open' | 'half-open';
  storage: {
    /** Requests this client made to the lane's storage (reported on the first lane of a shared storage). */
    client: StorageRequestCounts;
    /** Requests the lane's workers reported in their records. */
    worker: StorageRequestCounts;
    totalRequests: number;
  };
  /** From the start of the lane's earliest record to the end of its latest, in milliseconds, and that span over the job's wall time. */
  activeMs: number;
  wallShare: number;
  /** Billed duration of the invocations whose records were read, in milliseconds (the platform's figure where it reports one). */
  billedMs: number;
  /** This lane's cost so far in US dollars; `null` without declared prices. */
  costUsd: number | null;
};

export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** A submitted job. Results are typed by the task's return type. */
export interface Job<Output> extends AsyncIterable<TaskResult<Output>> {
  /** Identifies the job in storage; `fanout results <id>` re-attaches to it. */
  readonly id: string;
  /** Number of tasks. */
  readonly size: number;
  /** Every task's value, in input order. Rejects with the first task's error if any task failed. */
  results(options?: WaitOptions): Promise<Output[]>;
  /** Every task's outcome, in input order; never rejects for a task's failure. */
  settled(options?: WaitOptions): Promise<TaskResult<Output>[]>;
  /** Resolves once the condition holds; rejects with `WAIT_TIMEOUT` after `timeoutMs`. */
  wait(options?: WaitOptions): Promise<void>;
  /** Stop dispatching, abort running invocations and fail pending tasks with `JOB_CANCELLED`. */
  cancel(): Promise<void>;
  /** A snapshot of the job's statistics. */
  stats(): JobStats;
}
