import { ErrorCode, FanoutError, type InvokeResultV1, type ResultRecordV1 } from '@fanout/spec';
import { decodeRecord } from '@fanout/worker';
import type { RetryPolicy } from '../config/config-schema.js';
import type { TaskResult } from '../job/job-types.js';
import type { JobInputs, JobManifest } from '../protocol/job-object.js';
import type { InvocationSignal, RecordRange, StorageLayout } from '../protocol/layout.js';
import { describeSetAside, type SetAsideObject } from '../protocol/set-aside.js';
import { BudgetGuard } from './budget-guard.js';
import { CodeRepairs } from './code-repair.js';
import { dispatchOrder, type JobLane, type JobStorage } from './job-lane.js';
import { judgeLiveness, lostError, pollCeilingMs, waitingOf, type WaitingSummary } from './liveness.js';
import { payloadFor } from './payloads.js';
import { ResultPoller } from './result-poller.js';
import { RunBookkeeping } from './run-bookkeeping.js';
import { backoffMs, classifyFailure, isLaneFault, isolatesCulprit, retriesAllowed, splitForCulprit } from './retry-policy.js';
import { RangeQueue } from './range-queue.js';
import { stallAfterMs, stragglersToBackUp } from './stragglers.js';
import { deadlineError, describeRange, newUnit, type Attempt, type Unit } from './unit.js';

/** Extra time past an invocation's own timeout before the client gives up on it. */
const DEADLINE_GRACE_MS = 2000;
/** How often lost invocations and stragglers are looked for. */
const WATCH_MS = 250;

export type JobRunOptions = {
  manifest: JobManifest;
  /** The job's framed inputs, for inline payloads; `undefined` when every lane reads them from the job object. */
  inputs: JobInputs | undefined;
  /** The lanes this job runs over, in the order they were named. */
  lanes: JobLane[];
  layout: StorageLayout;
  retries: Required<RetryPolicy>;
  backups: boolean;
  /** `false`: records returned in synchronous responses are not written to storage. */
  durable: boolean;
  /** Stop dispatching before the projected cost passes this many US dollars. */
  budgetUsd: number | undefined;
  /** Replace the code bundle in a storage where a worker found it corrupt; absent when this client has no copy. */
  repairCode: ((jobStorage: JobStorage) => Promise<void>) | undefined;
  /** Called for every task as it completes, in completion order. */
  onResult: (result: TaskResult<unknown>) => void;
  /** Called once, when every task has an outcome. */
  onDone: () => void;
};

/**
 * Runs one job to completion over one or more lanes. Ranges of tasks wait in one queue and go to
 * whichever lane has a free slot in its (executor-wide) concurrency controller, least loaded for
 * its weight first. Every invocation has a deadline; failures are retried by class, those that
 * point at a lane (throttling, platform errors, timeouts, access denied) on that lane's own count
 * and then on the other lanes; a lane whose breaker opens has its work moved. Records are
 * collected from responses (sync) or by listing each lane storage's one results prefix (async);
 * the first record of a range wins, in whichever lane's storage it is.
 */
export class JobRun extends RunBookkeeping {
  private readonly queue = new RangeQueue((first, count) => this.isSettled(first, count));
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pollers = new Map<JobStorage, ResultPoller>();
  private readonly unsubscribes: Array<() => void> = [];
  private readonly budget: BudgetGuard;
  private watchTimer: NodeJS.Timeout | undefined;
  /** When a record last settled tasks or a start signal was seen (epoch ms): a job with none for a while has stalled. */
  private lastProgressMs = Date.now();
  private resentLost = 0;
  /**
   * Attempts given up as lost, by `first:count:attempt`, with their lane and when they were
   * accepted: a start signal that comes for one after all is a start latency the lane's deadline
   * did not allow for, and is learned from (see `onStarted`).
   */
  private readonly givenUp = new Map<string, { lane: JobLane; acceptedMs: number }>();
  private readonly codeRepairs: CodeRepairs;
  private suspectBackups = 0;

  constructor(private readonly options: JobRunOptions) {
    super(options.manifest, options.lanes, options.retries, options.onResult);
    this.budget = new BudgetGuard(options.budgetUsd, options.lanes, () => this.running);
    this.codeRepairs = new CodeRepairs(options.manifest.code.key, options.repairCode, (message) => this.repaired.push(message));
    for (const jobStorage of new Set(options.lanes.filter((lane) => lane.mode === 'async').map((lane) => lane.jobStorage))) {
      const lanes = options.lanes.filter((lane) => lane.jobStorage === jobStorage);
      this.pollers.set(
        jobStorage,
        new ResultPoller({
          storage: jobStorage.storage,
          layout: options.layout,
          jobId: options.manifest.id,
          isSettled: (first, count) => this.isSettled(first, count),
          isWaiting: () => [...this.running].some((attempt) => lanes.includes(attempt.lane)),
          maxIntervalMs: () => pollCeilingMs(this.running, lanes),
          onRecord: (record, generation) => this.settleRecord(record, undefined, lanes[0]!, undefined, generation),
          onStarted: (signal) => this.onStarted(signal, lanes),
          onSetAside: (report, range) => this.onSetAside(report, range),
          onFailed: (signal, error) => this.attemptOf(signal, lanes).forEach((attempt) => this.failAttempt(attempt, error)),
          onError: () => {
            // A failed listing is retried on the next poll; deadlines bound the wait.
          },
        }),
      );
    }
  }

  /** Plan and dispatch every task that has no outcome yet. */
  start(): void {
    const { taskCount, chunkSize } = this.options.manifest;
    this.queue.plan(taskCount, chunkSize, (index) => this.outcomes[index] !== undefined);
    if (this.completed === taskCount) return this.finish();
    // A slot freed by another job on a shared lane is a chance to dispatch.
    for (const lane of this.options.lanes) this.unsubscribes.push(lane.lane.controller.subscribe(() => this.pump()));
    if (this.options.backups || this.pollers.size > 0) this.watchTimer = setInterval(() => this.watch(), WATCH_MS);
    this.pump();
  }

  /** Stop everything: pending tasks fail with `JOB_CANCELLED`. */
  cancel(): void {
    if (this.finished) return;
    this.failPending((index) => new FanoutError(`Task ${index} was cancelled before it finished.`, { code: ErrorCode.JOB_CANCELLED, fault: 'caller', taskIndex: index }));
    this.finish();
  }

  protected pump(): void {
    if (this.finished) return;
    if (this.budget.stopped) return this.endIfBudgetSpent();
    for (;;) {
      let launched = false;
      this.queue.resetHolds();
      for (const lane of dispatchOrder(this.options.lanes)) {
        const unit = this.queue.takeFor(lane);
        if (!unit) continue;
        if (this.budget.wouldPass(lane)) {
          this.queue.putFirst(unit);
          return this.endIfBudgetSpent();
        }
        if (!lane.lane.controller.tryAcquire()) {
          this.queue.putFirst(unit);
          continue;
        }
        this.launch(unit, lane, false);
        launched = true;
        break;
      }
      if (!launched) return this.queue.wakeAfterHolds(() => this.pump());
    }
  }

  private launch(unit: Unit, lane: JobLane, isBackup: boolean): void {
    unit.attempts += 1;
    this.counters.attempts += 1;
    lane.counters.attempts += 1;
    if (isBackup) {
      this.counters.backups += 1;
      lane.counters.backups += 1;
    }
    lane.holding += 1;
    lane.lane.breaker.dispatched();
    const attempt: Attempt = {
      unit,
      lane,
      number: unit.attempts,
      startedMs: Date.now(),
      acceptedMs: undefined,
      runningSinceMs: undefined,
      controller: new AbortController(),
      deadline: undefined,
      isBackup,
      holdsSlot: true,
      fetching: false,
    };
    unit.inFlight.add(attempt);
    this.running.add(attempt);
    const { manifest, layout, inputs, durable } = this.options;
    const payload = payloadFor({ manifest, layout, inputs, durable, lane, unit });
    const sendable = 'inline' in payload.inputs ? Promise.resolve() : lane.jobStorage.written;
    sendable
      .then(() => {
        // The job may have finished or been cancelled while this waited for the job object.
        attempt.controller.signal.throwIfAborted();
        // The deadline and the straggler clock start when the invocation goes out: waiting for
        // a large job object to be stored is not the invocation's time.
        attempt.startedMs = Date.now();
        attempt.deadline = setTimeout(() => {
          const error = deadlineError(unit, lane.name, payload.timeoutMs + DEADLINE_GRACE_MS);
          attempt.controller.abort(error);
          this.failAttempt(attempt, error);
        }, payload.timeoutMs + DEADLINE_GRACE_MS);
        return lane.lane.compute.invoke(payload, { mode: lane.mode, signal: attempt.controller.signal });
      })
      .then(
        async (result: InvokeResultV1) => {
          if (result.mode === 'async') {
            attempt.acceptedMs = Date.now();
            this.pollers.get(lane.jobStorage)?.watch();
            return;
          }
          if (!result.record) {
            // The record is in storage already; the next invocation can start while it is read.
            attempt.fetching = true;
            this.releaseSlot(attempt);
            this.pump();
          }
          const bytes = result.record ?? (await lane.storage.get(payload.resultKey));
          if (!bytes) throw new FanoutError(`The record ${payload.resultKey} was reported written but is missing.`, { code: ErrorCode.PROTOCOL_ERROR });
          this.settleRecord(decodeRecord(bytes, payload.resultKey), attempt, lane, result.billedMs);
        },
        (error: unknown) => this.failAttempt(attempt, error),
      )
      .catch((error: unknown) => this.failAttempt(attempt, error));
  }

  private failAttempt(attempt: Attempt, error: unknown): void {
    if (!this.endAttempt(attempt)) return;
    const { unit, lane } = attempt;
    if (this.finished || this.isSettled(unit.first, unit.count)) return this.pump();
    const repair = this.codeRepairs.after(attempt, error);
    if (repair) {
      repair.then(
        () => {
          if (unit.inFlight.size === 0 && !this.isSettled(unit.first, unit.count)) this.queue.putFirst(unit);
          this.pump();
        },
        (repairError: unknown) => this.failUnit(unit, repairError),
      );
      return;
    }
    const failure = classifyFailure(error);
    const laneFault = isLaneFault(failure, error);
    lane.counters.failures[failure] = (lane.counters.failures[failure] ?? 0) + 1;
    if (failure === 'throttled') {
      this.counters.throttled += 1;
      lane.counters.throttled += 1;
      lane.lane.controller.throttled(FanoutError.isInstance(error) ? error.retryAfterMs : undefined);
    } else if (laneFault && !(failure === 'lost' && lane.lane.starts.lastStartMs > attempt.acceptedMs!) && lane.lane.breaker.failed()) {
      // A lost invocation counts against the lane only if nothing it was sent has started since:
      // a platform that drops some events is degraded, one that starts none is down.
      this.moveWorkOff(lane);
    }
    // A backup failing while the original still runs changes nothing.
    if (unit.inFlight.size > 0) return this.pump();
    const key = laneFault ? `${lane.name}/${failure}` : failure;
    const used = unit.retries.get(key) ?? 0;
    if (isolatesCulprit(failure) && unit.count > 1) {
      this.countRetry(lane);
      for (const part of splitForCulprit(unit, failure).reverse()) {
        if (!this.isSettled(part.first, part.count)) this.queue.putFirst(part);
      }
    } else if (used < retriesAllowed(failure, this.options.retries)) {
      unit.retries.set(key, used + 1);
      this.countRetry(lane);
      const delayMs = backoffMs(used + 1, FanoutError.isInstance(error) ? error.retryAfterMs : undefined);
      // Held back on this lane only: another lane may take the range at once (spill-over).
      unit.holds.set(lane, Date.now() + delayMs);
      this.queue.putFirst(unit);
    } else if (laneFault && this.options.lanes.some((other) => other !== lane && !unit.excluded.has(other))) {
      unit.excluded.add(lane);
      this.countRetry(lane);
      this.queue.putFirst(unit);
    } else {
      this.failUnit(unit, error);
    }
    this.pump();
  }

  /**
   * A lane's breaker opened: while the job has another healthy lane, its ranges in flight there
   * are abandoned (a record they still write is a harmless duplicate) and queued for the others.
   */
  private moveWorkOff(lane: JobLane): void {
    const elsewhere = this.options.lanes.some((other) => other !== lane && other.lane.breaker.state === 'closed');
    if (elsewhere) {
      for (const attempt of [...this.running]) {
        if (attempt.lane !== lane || !this.endAttempt(attempt)) continue;
        attempt.controller.abort();
        if (attempt.unit.inFlight.size === 0 && !this.isSettled(attempt.unit.first, attempt.unit.count)) this.queue.putFirst(attempt.unit);
      }
    }
    // Someone must be around to send the probe once the cooldown has passed.
    this.later(lane.lane.breaker.msUntilProbe() + 1, () => this.pump());
  }

  private countRetry(lane: JobLane): void {
    this.counters.retried += 1;
    lane.counters.retried += 1;
  }

  /** Remove a finished attempt; false if it had already ended (its deadline fired first). */
  protected endAttempt(attempt: Attempt): boolean {
    if (!this.running.delete(attempt)) return false;
    this.releaseSlot(attempt);
    clearTimeout(attempt.deadline);
    attempt.unit.inFlight.delete(attempt);
    return true;
  }

  private releaseSlot(attempt: Attempt): void {
    if (!attempt.holdsSlot) return;
    attempt.holdsSlot = false;
    attempt.lane.holding -= 1;
    attempt.lane.lane.controller.release();
  }

  protected onRecordSettled(record: ResultRecordV1, lane: JobLane, duplicate: boolean): void {
    if (!duplicate) {
      this.lastProgressMs = Date.now();
      lane.lane.controller.succeeded();
      lane.lane.breaker.succeeded();
    }
    // Other attempts at this range (a backup, a retry racing a slow original) are now moot.
    const { first, count } = record.tasks;
    for (const other of [...this.running]) {
      if (other.unit.first >= first && other.unit.first + other.unit.count <= first + count && this.isSettled(other.unit.first, other.unit.count)) {
        this.endAttempt(other);
        other.controller.abort();
      }
    }
    this.pump();
  }

  protected requeueTask(index: number, generation: number): void {
    this.queue.putLast(newUnit(index, 1, generation));
  }

  /** Once the budget stopped dispatch and nothing is in flight, what is left fails with `BUDGET_EXCEEDED`. */
  private endIfBudgetSpent(): void {
    if (this.running.size > 0 || this.finished) return;
    const message = this.budget.describe();
    this.failPending((index) => new FanoutError(`Task ${index} was not run: ${message}`, { code: ErrorCode.BUDGET_EXCEEDED, fault: 'caller', taskIndex: index }));
  }

  /** What the job is waiting for now, for `job.stats()` and the progress line. */
  waiting(): WaitingSummary {
    return waitingOf(this.running, this.queue.size, this.resentLost, this.suspectBackups);
  }

  /** A start signal was listed in the storage of `lanes`: its attempt runs, and the lane's start clock learns from it. */
  private onStarted(signal: InvocationSignal, lanes: readonly JobLane[]): void {
    const now = Date.now();
    this.lastProgressMs = now;
    const late = this.givenUp.get(signalKey(signal, signal.attempt));
    if (late && lanes.includes(late.lane)) {
      // It was not lost, only slow to start (a cold start, most often): the lane learns how slow.
      this.givenUp.delete(signalKey(signal, signal.attempt));
      late.lane.lane.starts.started(now - late.acceptedMs, now);
    }
    for (const attempt of this.attemptOf(signal, lanes)) {
      if (attempt.runningSinceMs !== undefined || attempt.acceptedMs === undefined) continue;
      attempt.runningSinceMs = now;
      attempt.lane.lane.starts.started(now - attempt.acceptedMs, now);
      attempt.lane.runs.started(attempt.acceptedMs, now);
    }
  }

  /** A bad object stood where the range's record belongs and was set aside: its attempts run again now, not at their deadline. */
  private onSetAside(report: SetAsideObject, { first, count, generation }: RecordRange): void {
    this.setAside.push(report);
    const error = new FanoutError(`The record of tasks ${describeRange({ first, count })} was unusable: ${describeSetAside(report)}`, { code: ErrorCode.PROTOCOL_ERROR, retryable: true });
    for (const attempt of [...this.running]) {
      if (attempt.unit.first === first && attempt.unit.count === count && attempt.unit.generation === generation) this.failAttempt(attempt, error);
    }
  }

  /** The running attempt a signal from the storage of `lanes` is about (none once it has ended). */
  private attemptOf({ first, count, generation, attempt: number }: InvocationSignal, lanes: readonly JobLane[]): Attempt[] {
    return [...this.running].filter(
      (attempt) => attempt.number === number && attempt.unit.first === first && attempt.unit.count === count && attempt.unit.generation === generation && lanes.includes(attempt.lane),
    );
  }

  /**
   * Every {@link WATCH_MS}: invocations the platform dropped are sent again, ranges whose worker
   * stopped reporting get a backup (see `liveness.ts`), and stragglers get theirs.
   */
  private watch(): void {
    if (this.finished) return;
    const { lost, suspect } = judgeLiveness({
      running: this.running,
      listedMs: (lane) => this.pollers.get(lane.jobStorage)?.listedMs ?? 0,
      backups: this.options.backups && !this.budget.stopped,
    });
    for (const attempt of lost) {
      this.resentLost += 1;
      attempt.unit.lostResends += 1;
      this.givenUp.set(signalKey(attempt.unit, attempt.number), { lane: attempt.lane, acceptedMs: attempt.acceptedMs! });
      attempt.controller.abort();
      this.failAttempt(attempt, lostError(attempt));
    }
    for (const attempt of suspect) {
      // A crashed invocation holds no compute: its slot goes to the backup.
      this.releaseSlot(attempt);
      if (!this.backUp(attempt)) break;
      attempt.unit.suspectBackups += 1;
      this.suspectBackups += 1;
    }
    if (this.options.backups) this.launchBackups();
  }

  /** Backups for stragglers, preferring another lane with a free slot (see {@link stragglersToBackUp}). */
  private launchBackups(): void {
    if (this.budget.stopped) return;
    const { taskCount, chunkSize } = this.options.manifest;
    const durations = this.counters.invocationDurations;
    const median = durations.length ? [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]! : 0;
    const stalled = Date.now() - this.lastProgressMs > stallAfterMs(median);
    const view = { durations, planned: Math.ceil(taskCount / chunkSize), queued: this.queue.size, running: this.running, backups: this.counters.backups, stalled };
    for (const attempt of stragglersToBackUp(view)) {
      attempt.unit.backedUp = true;
      if (!this.backUp(attempt)) return;
    }
  }

  /** One more attempt at `attempt`'s range, on another lane with a free slot if there is one; false when no lane has a slot. */
  private backUp(attempt: Attempt): boolean {
    const { unit } = attempt;
    const lanes = dispatchOrder(this.options.lanes).filter((lane) => !unit.excluded.has(lane));
    const elsewhere = lanes.find((candidate) => candidate !== attempt.lane && candidate.lane.controller.tryAcquire());
    const lane = elsewhere ?? (lanes.includes(attempt.lane) && attempt.lane.lane.controller.tryAcquire() ? attempt.lane : undefined);
    if (!lane) return false;
    this.launch(unit, lane, true);
    return true;
  }

  private later(delayMs: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.finished) run();
    }, delayMs);
    this.timers.add(timer);
  }

  protected finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    clearInterval(this.watchTimer);
    for (const unsubscribe of this.unsubscribes) unsubscribe();
    for (const poller of this.pollers.values()) poller.stop();
    for (const attempt of [...this.running]) {
      this.endAttempt(attempt);
      attempt.controller.abort();
    }
    this.queue.clear();
    this.options.onDone();
  }
}

/** Names one attempt at one range, as a start signal does. */
function signalKey({ first, count, generation }: RecordRange, attempt: number): string {
  return `${first}:${count}~${generation}:${attempt}`;
}
