import type { Attempt } from './unit.js';

/** A range is a straggler once it has run this many times the median finished invocation... */
const STRAGGLER_FACTOR = 3;
/** ...and at least this long, so that a job of very short invocations does not back up its noise. */
const STRAGGLER_MIN_MS = 200;

export type StragglerView = {
  /** Durations of the invocations finished so far. */
  durations: readonly number[];
  /** Ranges the job was planned with. */
  planned: number;
  /** Ranges still waiting to be sent. */
  queued: number;
  running: ReadonlySet<Attempt>;
  /** Backups launched so far. */
  backups: number;
  /** Nothing has finished or started for a while (see {@link stallAfterMs}). */
  stalled: boolean;
};

/**
 * How long a job may go without a record or a start signal before it counts as stalled: three
 * median invocations, at least a second.
 */
export function stallAfterMs(medianInvocationMs: number): number {
  return Math.max(1000, STRAGGLER_FACTOR * medianInvocationMs);
}

/**
 * The running attempts that deserve a backup now: a range running three times longer than the
 * median finished one gets one more attempt, in the tail of a job (everything dispatched, at most
 * a tenth of the planned ranges still running), bounded to a twentieth of the job (at least one)
 * over its whole life. When the job has stalled, whatever the fraction running, every such range
 * gets its backup: waiting is then all the job does. The first record to be written wins.
 */
export function stragglersToBackUp({ durations, planned, queued, running, backups, stalled }: StragglerView, now = Date.now()): Attempt[] {
  const tail = Math.max(1, Math.ceil(planned / 10));
  if (durations.length < 3 || (!stalled && (queued > 0 || running.size > tail))) return [];
  const median = [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]!;
  const allowed = stalled ? Infinity : Math.max(1, Math.ceil(planned / 20)) - backups;
  const chosen: Attempt[] = [];
  for (const attempt of running) {
    if (chosen.length >= allowed) break;
    if (attempt.unit.backedUp || attempt.isBackup || now - attempt.startedMs < Math.max(STRAGGLER_FACTOR * median, STRAGGLER_MIN_MS)) continue;
    chosen.push(attempt);
  }
  return chosen;
}
