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
};

/**
 * The running attempts that deserve a backup now. Only in the tail of a job: once everything is
 * dispatched and at most a tenth of the planned ranges are still running, a range running three
 * times longer than the median finished one gets one more attempt. Bounded to a twentieth of the
 * job (at least one) over its whole life; the first record to be written wins.
 */
export function stragglersToBackUp({ durations, planned, queued, running, backups }: StragglerView, now = Date.now()): Attempt[] {
  const tail = Math.max(1, Math.ceil(planned / 10));
  if (durations.length < 3 || queued > 0 || running.size > tail) return [];
  const median = [...durations].sort((a, b) => a - b)[Math.floor(durations.length / 2)]!;
  const allowed = Math.max(1, Math.ceil(planned / 20)) - backups;
  const chosen: Attempt[] = [];
  for (const attempt of running) {
    if (chosen.length >= allowed) break;
    if (attempt.unit.backedUp || attempt.isBackup || now - attempt.startedMs < Math.max(STRAGGLER_FACTOR * median, STRAGGLER_MIN_MS)) continue;
    chosen.push(attempt);
  }
  return chosen;
}
