import {
  ErrorCode,
  FanoutError,
  PAYLOAD_ENVELOPE_BYTES,
  PROTOCOL_VERSION,
  payloadSizeOf,
  type ComputeBackendV1,
  type InvocationPayloadV1,
  type ResolvedComputeCapabilities,
  type ResultRecordV1,
  type StorageBackendV1,
  type StorageRequestCounts,
} from '@fanout/spec';
import { addRequestCounts, decodeRecord, emptyRequestCounts } from '@fanout/worker';
import type { RetryPolicy } from '../config/config-schema.js';
import type { TaskResult } from '../job/job-types.js';
import type { JobInputs, JobManifest } from '../protocol/job-object.js';
import type { StorageLayout } from '../protocol/layout.js';
import { ResultPoller } from './result-poller.js';
import {
  backoffMs,
  classifyFailure,
  isolatesCulprit,
  retriesAllowed,
  type FailureClass,
} from './retry-policy.js';

/** Extra time past an invocation's own timeout before the client gives up on it. */
const DEADLINE_GRACE_MS = 2000;
/** How often stragglers are looked for. */
const STRAGGLER_CHECK_MS = 250;

/** A contiguous range of tasks, as planned or after a split. */
type Unit = {
  first: number;
  count: number;
  /** Retries used so far, by failure class. */
  retries: Partial<Record<FailureClass, number>>;
  /** Attempts made at this unit (the payload's `attempt`), backups included. */
  attempts: number;
  /** Attempts of this unit currently in flight. */
  inFlight: Set<Attempt>;
  backedUp: boolean;
};

type Attempt = {
  unit: Unit;
  startedMs: number;
  controller: AbortController;
  deadline: NodeJS.Timeout | undefined;
  isBackup: boolean;
  /** The invocation returned and its record is being read back: it no longer holds compute. */
  fetching: boolean;
};

export type JobRunOptions = {
  manifest: JobManifest;
  /**
   * The job's framed inputs, for cutting inline payloads; `undefined` when every invocation
   * reads its inputs from the job object (see `storedInputsAboveBytes`).
   */
  inputs: JobInputs | undefined;
  /**
   * Settles once the job object is in storage. Invocations with inline inputs go out at once;
   * one that reads its inputs from the job object waits for it.
   */
  jobObjectWritten: Promise<void>;
  jobKey: string;
  layout: StorageLayout;
  compute: ComputeBackendV1;
  capabilities: ResolvedComputeCapabilities;
  storage: StorageBackendV1;
  concurrency: number;
  mode: 'sync' | 'async';
  retries: Required<RetryPolicy>;
  backups: boolean;
  /** `false`: records returned in synchronous responses are not written to storage. */
  durable: boolean;
  /** Called for every task as it completes, in completion order. */
  onResult: (result: TaskResult<unknown>) => void;
  /** Called once, when every task has an outcome. */
  onDone: () => void;
};

/** Counters behind `job.stats()`. */
export type RunCounters = {
  attempts: number;
  succeeded: number;
  retried: number;
  backups: number;
  duplicates: number;
  throttled: number;
  coldStarts: number;
  workerStorage: StorageRequestCounts;
  invocationDurations: number[];
  taskDurations: number[];
  /** When the latest record seen was finished, epoch milliseconds. */
  lastFinishedMs: number;
};

/**
 * Runs one job to completion: dispatches task ranges under a concurrency cap, puts a deadline on
 * every invocation, retries by failure class, launches bounded backups for stragglers, and
 * collects result records from responses (sync) or by listing one prefix (async).
 */
export class JobRun {
  readonly outcomes: (TaskResult<unknown> | undefined)[];
  readonly counters: RunCounters = {
    attempts: 0,
    succeeded: 0,
    retried: 0,
    backups: 0,
    duplicates: 0,
    throttled: 0,
    coldStarts: 0,
    workerStorage: emptyRequestCounts(),
    invocationDurations: [],
    taskDurations: [],
    lastFinishedMs: 0,
  };
  completed = 0;
  private readonly queue: Unit[] = [];
  private readonly running = new Set<Attempt>();
  /** Attempts in `running` that are only reading their record back; they do not count towards the cap. */
  private fetching = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly userRetries = new Map<number, number>();
  private readonly poller: ResultPoller | undefined;
  private cap: number;
  private finished = false;
  private stragglerTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: JobRunOptions) {
    this.outcomes = new Array<TaskResult<unknown> | undefined>(options.manifest.taskCount);
    this.cap = options.concurrency;
    if (options.mode === 'async') {
      this.poller = new ResultPoller({
        storage: options.storage,
        layout: options.layout,
        jobId: options.manifest.id,
        isSettled: (first, count) => this.isSettled(first, count),
        isWaiting: () => this.running.size > 0,
        onRecord: (record) => this.settleRecord(record, undefined),
        onError: () => {
          // A failed listing is retried on the next poll; deadlines bound the wait.
        },
      });
    }
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /**
   * Accept a record found in storage (re-attaching, or inspecting a job) before anything is
   * dispatched. Its attempt number counts towards the job's attempts: that is how many
   * invocations storage shows this range took.
   */
  adoptRecord(record: ResultRecordV1): void {
    this.counters.attempts += record.attempt;
    this.settleRecord(record, undefined);
  }

  /** Plan and dispatch every task that has no outcome yet. */
  start(): void {
    const { taskCount, chunkSize } = this.options.manifest;
    let first = 0;
    while (first < taskCount) {
      if (this.outcomes[first]) {
        first += 1;
        continue;
      }
      let count = 0;
      while (count < chunkSize && first + count < taskCount && !this.outcomes[first + count]) count += 1;
      this.queue.push(newUnit(first, count));
      first += count;
    }
    if (this.completed === taskCount) {
      this.finish();
      return;
    }
    if (this.options.backups) {
      this.stragglerTimer = setInterval(() => this.launchBackups(), STRAGGLER_CHECK_MS);
    }
    this.pump();
  }

  /** Stop everything: pending tasks fail with `JOB_CANCELLED`. */
  cancel(): void {
    if (this.finished) return;
    for (let index = 0; index < this.outcomes.length; index += 1) {
      if (!this.outcomes[index]) {
        const error = new FanoutError(`Task ${index} was cancelled before it finished.`, {
          code: ErrorCode.JOB_CANCELLED,
          fault: 'caller',
          taskIndex: index,
        });
        this.settleTask(index, { index, ok: false, error, durationMs: 0 });
      }
    }
    this.finish();
  }

  private pump(): void {
    while (!this.finished && this.running.size - this.fetching < this.cap && this.queue.length) {
      const unit = this.queue.shift()!;
      if (this.isSettled(unit.first, unit.count)) continue;
      this.launch(unit, false);
    }
  }

  private launch(unit: Unit, isBackup: boolean): void {
    unit.attempts += 1;
    this.counters.attempts += 1;
    if (isBackup) this.counters.backups += 1;
    const attempt: Attempt = { unit, startedMs: Date.now(), controller: new AbortController(), deadline: undefined, isBackup, fetching: false };
    unit.inFlight.add(attempt);
    this.running.add(attempt);
    const payload = this.payloadFor(unit);
    const sendable = 'inline' in payload.inputs ? Promise.resolve() : this.options.jobObjectWritten;
    sendable
      .then(() => {
        // The job may have finished or been cancelled while this waited for the job object.
        attempt.controller.signal.throwIfAborted();
        // The deadline and the straggler clock start when the invocation goes out: waiting for
        // a large job object to be stored is not the invocation's time.
        attempt.startedMs = Date.now();
        attempt.deadline = setTimeout(() => {
          const error = new FanoutError(
            `Tasks ${describeRange(unit)} did not report within ${payload.timeoutMs + DEADLINE_GRACE_MS} ms.`,
            { code: ErrorCode.TIMEOUT, retryable: true, fault: 'backend' },
          );
          attempt.controller.abort(error);
          this.failAttempt(attempt, error);
        }, payload.timeoutMs + DEADLINE_GRACE_MS);
        return this.options.compute.invoke(payload, { mode: this.options.mode, signal: attempt.controller.signal });
      })
      .then(
      async (result) => {
        if (result.mode === 'async') {
          this.poller!.watch();
          return;
        }
        if (!result.record) {
          // The record is in storage already; the next invocation can start while it is read.
          attempt.fetching = true;
          this.fetching += 1;
          this.pump();
        }
        const bytes = result.record ?? (await this.options.storage.get(payload.resultKey));
        if (!bytes) throw new FanoutError(`The record ${payload.resultKey} was reported written but is missing.`, { code: ErrorCode.PROTOCOL_ERROR });
        this.settleRecord(decodeRecord(bytes, payload.resultKey), attempt);
      },
      (error: unknown) => this.failAttempt(attempt, error),
    ).catch((error: unknown) => this.failAttempt(attempt, error));
  }

  private payloadFor(unit: Unit): InvocationPayloadV1 {
    const { manifest, jobKey, layout, capabilities, mode, compute, inputs } = this.options;
    const start = manifest.inputOffsets[unit.first]!;
    const end = manifest.inputOffsets[unit.first + unit.count]!;
    const budget = capabilities.maxPayloadBytes[mode];
    const base = {
      protocol: PROTOCOL_VERSION,
      jobId: manifest.id,
      attempt: unit.attempts,
      code: manifest.code,
      tasks: { first: unit.first, count: unit.count },
      resultKey: layout.resultKey(manifest.id, unit.first, unit.count),
      respond: mode === 'sync',
      ...(mode === 'sync' && !this.options.durable ? { durable: false } : {}),
      timeoutMs: manifest.timeoutMs,
    } as const;
    // Inputs that fit the budget travel inline (unless the whole job reads them from the job
    // object); the rest are read from the job object.
    if (inputs !== undefined && end - start + PAYLOAD_ENVELOPE_BYTES <= budget) {
      const inline: InvocationPayloadV1 = { ...base, inputs: { inline: inputs.framed(unit.first, unit.count) } };
      if (payloadSizeOf(compute, inline) <= budget) return inline;
    }
    return { ...base, inputs: { key: jobKey, start, end } };
  }

  private failAttempt(attempt: Attempt, error: unknown): void {
    if (!this.endAttempt(attempt)) return;
    const { unit } = attempt;
    if (this.finished || this.isSettled(unit.first, unit.count)) return this.pump();
    // A backup failing while the original still runs changes nothing.
    if (unit.inFlight.size > 0) return this.pump();
    const failure = classifyFailure(error);
    if (failure === 'throttled') {
      this.counters.throttled += 1;
      // Multiplicative decrease; completions add the capacity back one at a time.
      this.cap = Math.max(1, Math.floor(this.cap / 2));
    }
    const used = unit.retries[failure] ?? 0;
    if (isolatesCulprit(failure) && unit.count > 1) {
      this.counters.retried += 1;
      for (let index = unit.first; index < unit.first + unit.count; index += 1) {
        if (!this.outcomes[index]) this.queue.unshift(newUnit(index, 1));
      }
    } else if (used < retriesAllowed(failure, this.options.retries)) {
      unit.retries[failure] = used + 1;
      this.counters.retried += 1;
      const retryAfterMs = FanoutError.isInstance(error) ? error.retryAfterMs : undefined;
      this.later(backoffMs(used + 1, retryAfterMs), () => {
        this.queue.unshift(unit);
        this.pump();
      });
    } else {
      const cause = asFanoutError(error);
      for (let index = unit.first; index < unit.first + unit.count; index += 1) {
        const taskError = new FanoutError(`Task ${index} failed: ${cause.message}`, {
          code: cause.code,
          retryable: cause.retryable,
          fault: cause.fault,
          cause,
          taskIndex: index,
          ...(cause.logTail !== undefined ? { logTail: cause.logTail } : {}),
        });
        this.settleTask(index, { index, ok: false, error: taskError, durationMs: 0 });
      }
    }
    this.pump();
  }

  /** Remove a finished attempt; false if it had already ended (its deadline fired first). */
  private endAttempt(attempt: Attempt): boolean {
    if (!this.running.delete(attempt)) return false;
    if (attempt.fetching) this.fetching -= 1;
    clearTimeout(attempt.deadline);
    attempt.unit.inFlight.delete(attempt);
    return true;
  }

  private settleRecord(record: ResultRecordV1, attempt: Attempt | undefined): void {
    if (record.jobId !== this.options.manifest.id) return;
    const { first, count } = record.tasks;
    if (attempt) this.endAttempt(attempt);
    else this.endAttemptsCovering(first, count);
    addRequestCounts(this.counters.workerStorage, record.storage);
    if (record.coldStart) this.counters.coldStarts += 1;
    this.counters.invocationDurations.push(record.finishedMs - record.startedMs);
    this.counters.lastFinishedMs = Math.max(this.counters.lastFinishedMs, record.finishedMs);
    if (this.isSettled(first, count)) {
      this.counters.duplicates += 1;
      this.pump();
      return;
    }
    this.counters.succeeded += 1;
    if (this.cap < this.options.concurrency) this.cap += 1;
    record.outcomes.forEach((outcome, offset) => {
      const index = first + offset;
      if (this.outcomes[index]) return;
      this.counters.taskDurations.push(outcome.durationMs);
      if (outcome.ok) {
        this.settleTask(index, { index, ok: true, value: outcome.value, durationMs: outcome.durationMs });
        return;
      }
      const retriesUsed = this.userRetries.get(index) ?? 0;
      if (outcome.error.code === ErrorCode.USER_CODE_ERROR && retriesUsed < this.options.retries.userCode) {
        this.userRetries.set(index, retriesUsed + 1);
        this.counters.retried += 1;
        this.queue.push(newUnit(index, 1));
        return;
      }
      const error = new FanoutError(`Task ${index} threw ${outcome.error.name}: ${outcome.error.message}`, {
        code: outcome.error.code as ErrorCode,
        fault: outcome.error.code === ErrorCode.USER_CODE_ERROR ? 'user-code' : 'caller',
        taskIndex: index,
        remoteName: outcome.error.name,
        ...(outcome.error.stack !== undefined ? { remoteStack: outcome.error.stack } : {}),
        logTail: record.logTail,
      });
      this.settleTask(index, { index, ok: false, error, durationMs: outcome.durationMs });
    });
    // Other attempts at this range (a backup, a retry racing a slow original) are now moot.
    for (const other of [...this.running]) {
      if (other.unit.first >= first && other.unit.first + other.unit.count <= first + count && this.isSettled(other.unit.first, other.unit.count)) {
        this.endAttempt(other);
        other.controller.abort();
      }
    }
    this.pump();
  }

  private endAttemptsCovering(first: number, count: number): void {
    for (const attempt of [...this.running]) {
      if (attempt.unit.first === first && attempt.unit.count === count) this.endAttempt(attempt);
    }
  }

  private settleTask(index: number, result: TaskResult<unknown>): void {
    if (this.outcomes[index]) return;
    this.outcomes[index] = result;
    this.completed += 1;
    this.options.onResult(result);
    if (this.completed === this.outcomes.length) this.finish();
  }

  private isSettled(first: number, count: number): boolean {
    for (let index = first; index < first + count; index += 1) if (!this.outcomes[index]) return false;
    return true;
  }

  /**
   * Backups for stragglers: once everything is dispatched and at most a tenth of the planned
   * ranges are still running, a range running
   * three times longer than the median finished one gets one more attempt. Bounded to a twentieth
   * of the job (at least one); the first record to be written wins.
   */
  private launchBackups(): void {
    const durations = this.counters.invocationDurations;
    const tail = Math.max(1, Math.ceil(this.plannedUnits() / 10));
    if (durations.length < 3 || this.queue.length > 0 || this.running.size > tail) return;
    const median = [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]!;
    const limit = Math.max(1, Math.ceil(this.plannedUnits() / 20));
    const now = Date.now();
    for (const attempt of [...this.running]) {
      if (this.counters.backups >= limit || this.running.size >= this.cap + limit) return;
      const { unit } = attempt;
      if (unit.backedUp || attempt.isBackup || now - attempt.startedMs < Math.max(3 * median, 200)) continue;
      unit.backedUp = true;
      this.launch(unit, true);
    }
  }

  private plannedUnits(): number {
    return Math.ceil(this.options.manifest.taskCount / this.options.manifest.chunkSize);
  }

  private later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.finished) run();
    }, delayMs);
    this.timers.add(timer);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    clearInterval(this.stragglerTimer);
    this.poller?.stop();
    for (const attempt of [...this.running]) {
      this.endAttempt(attempt);
      attempt.controller.abort();
    }
    this.queue.length = 0;
    this.options.onDone();
  }
}

function newUnit(first: number, count: number): Unit {
  return { first, count, retries: {}, attempts: 0, inFlight: new Set(), backedUp: false };
}

function describeRange(unit: Unit): string {
  return unit.count === 1 ? String(unit.first) : `${unit.first}-${unit.first + unit.count - 1}`;
}

function asFanoutError(error: unknown): FanoutError {
  if (FanoutError.isInstance(error)) return error;
  return new FanoutError(String((error as Error)?.message ?? error), { code: ErrorCode.BACKEND_UNAVAILABLE, cause: error });
}
