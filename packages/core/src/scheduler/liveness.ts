import { ErrorCode, FanoutError } from '@fanout/spec';
import type { JobLane } from './job-lane.js';
import { LatencyWindow } from '../lanes/start-watch.js';
import { POLL_MAX_MS, POLL_STARTING_MAX_MS } from './result-poller.js';
import { describeRange, type Attempt } from './unit.js';

/**
 * Liveness of asynchronous invocations. A platform that accepted an invocation says nothing more
 * about it: a dropped event and a worker that crashed look the same as a slow task until the
 * invocation's deadline, minutes later. Each asynchronous invocation writes an empty start signal
 * beside its record (`startedKey`), and the one listing that finds records finds the signals too.
 * From them the client learns how long invocations take to start on each lane (over every job:
 * `StartWatch`) and how long this job's take to run there (`RunWatch`), and judges against
 * that, in seconds:
 *
 * - **lost**: accepted, and no start signal long after the lane's invocations usually start, or
 *   a while after one accepted later did: the range is sent again at once (`INVOCATION_LOST`,
 *   `retries.lost`);
 * - **suspect**: started, and running far longer than this job's invocations usually run (a
 *   crashed worker writes no record): the range gets a backup, and the original gives its slot
 *   up, since a crashed invocation holds no compute. First record wins, so a slow original that
 *   finishes after all is harmless.
 *
 * A lane whose workers write no start signals (an older deployed worker: its records say so) is
 * judged by invocation deadlines alone, as before. Until a lane has shown either, a range may be
 * re-sent as lost once, so that an old worker running long tasks costs at most one duplicate.
 */

/**
 * An accepted invocation is also lost once one accepted after it on the same lane has been
 * running this long. A platform that queues what it cannot run yet (a function at its
 * concurrency limit) starts events roughly in the order it accepted them, so a start latency
 * learned under such a queue is as long as the queue; being overtaken is the sharper sign. The
 * order is not strict, and an event that found no warm worker waits for a cold start while
 * later ones run on warm workers, hence a margin of a few seconds (a Node function's cold start
 * with a cloud SDK takes one or two); a mistake costs one duplicate invocation, whose record is
 * discarded.
 */
const OVERTAKEN_AFTER_MS = 3_000;

/**
 * A range is suspect once it has run this many times the job's 90th-percentile run time... A
 * crashed range holds its slot until it is suspected, and with a few crashes among many ranges
 * those waits add up to most of a job's delay; a wrong suspicion costs one backup invocation
 * (the original runs on and the first record wins). Ranges of one job are alike, so twice the
 * 90th percentile is already far out.
 */
const SUSPECT_FACTOR = 2;
/** ...and at least this long; and only once this many runs were measured. */
const SUSPECT_MIN_MS = 1_000;
const SUSPECT_SAMPLES = 5;
/** Backups for one range on suspicion, over its life: a task that crashes every time waits for its deadline. */
export const MAX_SUSPECT_BACKUPS = 2;

/** What one job has seen of its asynchronous invocations running on one lane. */
export class RunWatch {
  /** From the start signal being listed to the record being listed. */
  readonly runs = new LatencyWindow();
  /** Starts listed less than {@link OVERTAKEN_AFTER_MS} ago, oldest first, by when their invocation was accepted. */
  private readonly recentStarts: Array<{ acceptedMs: number; startedMs: number }> = [];
  /** The latest acceptance among invocations running for {@link OVERTAKEN_AFTER_MS} or more. */
  private passedMs = -Infinity;
  /** The latest acceptance among invocations listed as started at all. */
  private latestStartedAcceptanceMs = -Infinity;

  /** An invocation accepted at `acceptedMs` was listed as started at `startedMs`. */
  started(acceptedMs: number, startedMs: number): void {
    this.recentStarts.push({ acceptedMs, startedMs });
    this.latestStartedAcceptanceMs = Math.max(this.latestStartedAcceptanceMs, acceptedMs);
  }

  /** Whether an invocation accepted after `acceptedMs` has started: the lane is starting what it is sent. */
  startedSince(acceptedMs: number): boolean {
    return this.latestStartedAcceptanceMs > acceptedMs;
  }

  /** Invocations accepted before this time that have not started were passed over (see {@link OVERTAKEN_AFTER_MS}). */
  overtakenBefore(now: number): number {
    while (this.recentStarts.length && now - this.recentStarts[0]!.startedMs >= OVERTAKEN_AFTER_MS) {
      this.passedMs = Math.max(this.passedMs, this.recentStarts.shift()!.acceptedMs);
    }
    return this.passedMs;
  }

  /** How long a started invocation may run before it is suspect, or `undefined` before enough runs were measured. */
  suspectAfterMs(): number | undefined {
    if (this.runs.count < SUSPECT_SAMPLES) return undefined;
    return Math.max(SUSPECT_MIN_MS, SUSPECT_FACTOR * this.runs.quantile(0.9)!);
  }
}

/** What the liveness check needs of a run. */
export type LivenessView = {
  running: ReadonlySet<Attempt>;
  /** When the latest completed listing of a lane's storage began: what was written before it has been seen. */
  listedMs: (lane: JobLane) => number;
  backups: boolean;
  /** The time to judge at (epoch ms). Default: now. */
  now?: number;
};


/** The asynchronous attempts that are lost or suspect now. */
export function judgeLiveness({ running, listedMs, backups, now = Date.now() }: LivenessView): { lost: Attempt[]; suspect: Attempt[] } {
  const lost: Attempt[] = [];
  const suspect: Attempt[] = [];
  for (const attempt of running) {
    if (attempt.lane.mode !== 'async' || attempt.acceptedMs === undefined) continue;
    const listed = listedMs(attempt.lane);
    if (attempt.runningSinceMs === undefined) {
      const { starts } = attempt.lane.lane;
      const deadline = starts.startDeadlineMs();
      const mayResend = starts.signals === true || attempt.unit.lostResends === 0;
      if (deadline === undefined || !mayResend) continue;
      // A lane that has started an invocation accepted after this one is starting what it is
      // sent, so this one was dropped, and each of its re-sends gets the same deadline: a range
      // dropped three times costs three deadlines. A lane that has started nothing since may
      // just be slow for a while (cold starts under load), so there each re-send of the range is
      // allowed twice as long as the last: a few duplicate invocations, not a cascade of them.
      const allowanceMs = attempt.lane.runs.startedSince(attempt.acceptedMs) ? deadline : deadline * 2 ** attempt.unit.lostResends;
      const late = listed > attempt.acceptedMs + allowanceMs;
      const passed = starts.signals === true && attempt.acceptedMs < attempt.lane.runs.overtakenBefore(now);
      if (late || passed) lost.push(attempt);
      continue;
    }
    const limit = attempt.lane.runs.suspectAfterMs();
    // Only a range's newest attempt: once it has a backup, the backup is the one to watch.
    const newest = [...attempt.unit.inFlight].every((other) => other.number <= attempt.number);
    if (backups && newest && limit !== undefined && attempt.unit.suspectBackups < MAX_SUSPECT_BACKUPS && listed > attempt.runningSinceMs + limit) {
      suspect.push(attempt);
    }
  }
  return { lost, suspect };
}

/**
 * The longest pause between listings of the storage of `lanes`: short while a start signal is
 * awaited (a dropped invocation is found by its absence); a quarter of the job's median run time
 * there while ranges run, so that run times are measured finely enough to judge a crashed one
 * by, and a crash is seen soon after its limit passes; otherwise the poller's own ceiling.
 */
export function pollCeilingMs(running: ReadonlySet<Attempt>, lanes: readonly JobLane[]): number {
  let ceiling = POLL_MAX_MS;
  for (const attempt of running) {
    if (attempt.lane.mode !== 'async' || attempt.acceptedMs === undefined || !lanes.includes(attempt.lane)) continue;
    if (attempt.runningSinceMs === undefined) return POLL_STARTING_MAX_MS;
    const median = attempt.lane.runs.runs.quantile(0.5);
    if (median !== undefined) ceiling = Math.min(ceiling, Math.max(POLL_STARTING_MAX_MS, median / 4));
  }
  return ceiling;
}

/** The failure of an accepted invocation that never started; retried by `retries.lost`. */
export function lostError(attempt: Attempt, now = Date.now()): FanoutError {
  const waited = ((now - attempt.acceptedMs!) / 1000).toFixed(1);
  const usual = attempt.lane.lane.starts.starts.quantile(0.9) ?? 0;
  const why =
    attempt.acceptedMs! < attempt.lane.runs.overtakenBefore(now)
      ? `invocations accepted after them have been running for over ${OVERTAKEN_AFTER_MS / 1000} s`
      : `this lane's invocations start within ${Math.round(usual)} ms`;
  return new FanoutError(
    `Tasks ${describeRange(attempt.unit)} were accepted by lane ${attempt.lane.name} ${waited} s ago and have not started, while ${why}: the platform lost the invocation, so it is sent again.`,
    { code: ErrorCode.INVOCATION_LOST, retryable: true, fault: 'backend' },
  );
}

/** What a running job waits for, as `job.stats().waiting` reports it. */
export type WaitingSummary = {
  /** Ranges queued for a free slot. */
  queued: number;
  /** Invocations in flight (asynchronous ones from acceptance to record). */
  running: number;
  /** Asynchronous invocations accepted whose start signal has not been seen, and how long the oldest has waited. */
  notStarted: number;
  oldestNotStartedMs: number;
  /** Invocations sent again so far because they never started. */
  resentLost: number;
  /** Backups launched so far for ranges that started and stopped reporting. */
  suspectBackups: number;
};

export function waitingOf(running: ReadonlySet<Attempt>, queued: number, resentLost: number, suspectBackups: number, now = Date.now()): WaitingSummary {
  let notStarted = 0;
  let oldest = 0;
  for (const attempt of running) {
    if (attempt.lane.mode !== 'async' || attempt.acceptedMs === undefined || attempt.runningSinceMs !== undefined) continue;
    notStarted += 1;
    oldest = Math.max(oldest, now - attempt.acceptedMs);
  }
  return { queued, running: running.size, notStarted, oldestNotStartedMs: oldest, resentLost, suspectBackups };
}

/** Accepted invocations not started for this long are worth telling the user about. */
const WORTH_SAYING_MS = 5_000;

/** One line on what the job waits for, when that is unusual; `undefined` when it is just running. */
export function describeWaiting(waiting: WaitingSummary): string | undefined {
  const parts: string[] = [];
  if (waiting.notStarted > 0 && waiting.oldestNotStartedMs >= WORTH_SAYING_MS) {
    parts.push(`${waiting.notStarted} invocation${waiting.notStarted === 1 ? '' : 's'} accepted up to ${Math.round(waiting.oldestNotStartedMs / 1000)} s ago ha${waiting.notStarted === 1 ? 's' : 've'} not started`);
  }
  if (waiting.resentLost > 0) parts.push(`${waiting.resentLost} re-sent after the platform dropped them`);
  if (waiting.suspectBackups > 0) parts.push(`${waiting.suspectBackups} backed up after they stopped reporting`);
  return parts.length ? parts.join('; ') : undefined;
}
