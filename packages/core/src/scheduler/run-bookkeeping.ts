import { ErrorCode, FanoutError, defaultFaultOf, type ResultRecordV1, type StorageRequestCounts } from '@fanout/spec';
import { addRequestCounts, emptyRequestCounts } from '@fanout/worker';
import type { RetryPolicy } from '../config/config-schema.js';
import type { TaskResult } from '../job/job-types.js';
import type { JobManifest } from '../protocol/job-object.js';
import type { SetAsideObject } from '../protocol/set-aside.js';
import type { JobLane } from './job-lane.js';
import type { Attempt, Unit } from './unit.js';

/** Counters behind `job.stats()`, over every lane. */
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
 * What a run knows about its tasks: each one's outcome, the counters, and how a result record
 * settles tasks (first record of a range wins; later ones are counted as duplicates). The
 * dispatching half is `JobRun`.
 */
export abstract class RunBookkeeping {
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
  /** Objects under the job's results that were not records, set aside (or, inspecting, found). */
  readonly setAside: SetAsideObject[] = [];
  /** What was repaired in storage while the job ran (a corrupt code bundle replaced), in words. */
  readonly repaired: string[] = [];
  protected readonly running = new Set<Attempt>();
  protected finished = false;
  private readonly userRetries = new Map<number, number>();

  constructor(
    protected readonly manifestOfRun: JobManifest,
    readonly lanes: readonly JobLane[],
    private readonly retryPolicy: Required<RetryPolicy>,
    private readonly reportResult: (result: TaskResult<unknown>) => void,
  ) {
    this.outcomes = new Array<TaskResult<unknown> | undefined>(manifestOfRun.taskCount);
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /**
   * Accept a record found in storage (re-attaching, or inspecting a job) before anything is
   * dispatched, from the storage of `lane`. Its attempt number counts towards the job's attempts:
   * that is how many invocations storage shows this range took.
   */
  adoptRecord(record: ResultRecordV1, lane: JobLane, generation: number): void {
    this.counters.attempts += record.attempt;
    lane.counters.attempts += record.attempt;
    this.settleRecord(record, undefined, lane, undefined, generation);
  }

  protected abstract endAttempt(attempt: Attempt): boolean;
  protected abstract onRecordSettled(record: ResultRecordV1, lane: JobLane, duplicate: boolean): void;
  /** Run task `index` alone again, as generation `generation` of it (see `StorageLayout.resultKey`). */
  protected abstract requeueTask(index: number, generation: number): void;
  protected abstract finish(): void;

  /**
   * Take a record of the job: from `attempt`'s response, or found in storage under the key of
   * generation `generation` of its range.
   */
  protected settleRecord(record: ResultRecordV1, attempt: Attempt | undefined, lane: JobLane, billedMs?: number, generation = attempt?.unit.generation ?? 0): void {
    if (record.jobId !== this.manifestOfRun.id) return;
    const { first, count } = record.tasks;
    if (attempt) this.endAttempt(attempt);
    else this.endAttemptsCovering(record, generation);
    const durationMs = record.finishedMs - record.startedMs;
    addRequestCounts(this.counters.workerStorage, record.storage);
    addRequestCounts(lane.counters.workerStorage, record.storage);
    if (record.coldStart) this.counters.coldStarts += 1;
    this.counters.invocationDurations.push(durationMs);
    this.counters.lastFinishedMs = Math.max(this.counters.lastFinishedMs, record.finishedMs);
    // Every record read was an invocation the platform billed, duplicates included.
    lane.counters.invocationMs += durationMs;
    lane.counters.invocationRecords += 1;
    lane.counters.billedMs += lane.billedMsOf(durationMs, billedMs);
    lane.counters.computeUsd += lane.invocationUsd(durationMs, billedMs);
    // From the records themselves, so that a re-attached or inspected job reports the same spans.
    lane.counters.firstStartedMs = lane.counters.firstStartedMs ? Math.min(lane.counters.firstStartedMs, record.startedMs) : record.startedMs;
    lane.counters.lastFinishedMs = Math.max(lane.counters.lastFinishedMs, record.finishedMs);
    if (this.isSettled(first, count)) {
      this.counters.duplicates += 1;
      this.onRecordSettled(record, lane, true);
      return;
    }
    this.counters.succeeded += 1;
    lane.counters.succeeded += 1;
    record.outcomes.forEach((outcome, offset) => {
      const index = first + offset;
      if (this.outcomes[index]) return;
      this.counters.taskDurations.push(outcome.durationMs);
      if (outcome.ok) {
        lane.counters.tasks += 1;
        this.settleTask(index, { index, ok: true, value: outcome.value, durationMs: outcome.durationMs });
        return;
      }
      // A failure from before the task's latest retry (a backup's late record) says nothing new.
      if (generation < (this.userRetries.get(index) ?? 0)) return;
      // Re-attached: the records' generations say how many retries were used.
      const retriesUsed = Math.max(this.userRetries.get(index) ?? 0, generation);
      if (outcome.error.code === ErrorCode.USER_CODE_ERROR && retriesUsed < this.retryPolicy.userCode) {
        this.userRetries.set(index, retriesUsed + 1);
        this.counters.retried += 1;
        lane.counters.retried += 1;
        this.requeueTask(index, retriesUsed + 1);
        return;
      }
      lane.counters.tasks += 1;
      const code = outcome.error.code as ErrorCode;
      // A task that threw is described as such; the worker's own verdicts (a result that cannot
      // be serialized or stored) already say what happened to which task.
      const message = code === ErrorCode.USER_CODE_ERROR ? `Task ${index} threw ${outcome.error.name}: ${outcome.error.message}` : outcome.error.message;
      const error = new FanoutError(message, {
        code,
        fault: defaultFaultOf(code),
        taskIndex: index,
        remoteName: outcome.error.name,
        ...(outcome.error.stack !== undefined ? { remoteStack: outcome.error.stack } : {}),
        logTail: record.logTail,
      });
      this.settleTask(index, { index, ok: false, error, durationMs: outcome.durationMs });
    });
    this.onRecordSettled(record, lane, false);
  }

  /** Fail every task of a range with the error that ended its last attempt. */
  protected failUnit(unit: Unit, error: unknown): void {
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

  /** Fail every task that has no outcome yet, with the error `errorFor` makes for it. */
  protected failPending(errorFor: (index: number) => FanoutError): void {
    for (let index = 0; index < this.outcomes.length; index += 1) {
      if (!this.outcomes[index]) this.settleTask(index, { index, ok: false, error: errorFor(index), durationMs: 0 });
    }
  }

  protected isSettled(first: number, count: number): boolean {
    for (let index = first; index < first + count; index += 1) if (!this.outcomes[index]) return false;
    return true;
  }

  private endAttemptsCovering(record: ResultRecordV1, generation: number): void {
    const { first, count } = record.tasks;
    for (const attempt of [...this.running]) {
      if (attempt.unit.first !== first || attempt.unit.count !== count || attempt.unit.generation !== generation) continue;
      if (attempt.lane.mode === 'async' && attempt.number === record.attempt && !record.signalled) attempt.lane.lane.starts.signals ??= false;
      // An asynchronous range's record, listed: how long this job's invocations run once started.
      // Only the attempt that wrote it: an original that crashed and was backed up would count
      // its wait for the backup as a run, and each such sample would make the next crash slower to suspect.
      if (attempt.runningSinceMs !== undefined && attempt.number === record.attempt) attempt.lane.runs.runs.add(Date.now() - attempt.runningSinceMs);
      this.endAttempt(attempt);
    }
  }

  private settleTask(index: number, result: TaskResult<unknown>): void {
    if (this.outcomes[index]) return;
    this.outcomes[index] = result;
    this.completed += 1;
    this.reportResult(result);
    if (this.completed === this.outcomes.length) this.finish();
  }
}

function asFanoutError(error: unknown): FanoutError {
  if (FanoutError.isInstance(error)) return error;
  return new FanoutError(String((error as Error)?.message ?? error), { code: ErrorCode.BACKEND_UNAVAILABLE, cause: error });
}
