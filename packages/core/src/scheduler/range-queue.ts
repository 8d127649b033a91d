import type { JobLane } from './job-lane.js';
import { newUnit, type Unit } from './unit.js';

/**
 * The ranges of one job waiting to be sent, shared by all its lanes. A lane takes the first range
 * it may run: not excluded from it, and not held back on it after a failure there. Ranges that
 * were settled meanwhile (by a backup, or another lane's record) are dropped as they are met.
 */
export class RangeQueue {
  private readonly units: Unit[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerDueMs = Infinity;
  /** The earliest hold met by the last unsuccessful {@link takeFor} calls since {@link resetHolds}. */
  private earliestHoldMs = Infinity;

  constructor(private readonly isSettled: (first: number, count: number) => boolean) {}

  get size(): number {
    return this.units.length;
  }

  /** Cut every task without an outcome into ranges of at most `chunkSize` contiguous tasks. */
  plan(taskCount: number, chunkSize: number, hasOutcome: (index: number) => boolean): void {
    let first = 0;
    while (first < taskCount) {
      if (hasOutcome(first)) {
        first += 1;
        continue;
      }
      let count = 0;
      while (count < chunkSize && first + count < taskCount && !hasOutcome(first + count)) count += 1;
      this.units.push(newUnit(first, count));
      first += count;
    }
  }

  /** A range to run before the others (a retry, a range moved off a failing lane). */
  putFirst(unit: Unit): void {
    this.units.unshift(unit);
  }

  /** A range to run after the others. */
  putLast(unit: Unit): void {
    this.units.push(unit);
  }

  /** Remove and return the first range `lane` may take now, if any. */
  takeFor(lane: JobLane): Unit | undefined {
    const now = Date.now();
    for (let index = 0; index < this.units.length; index += 1) {
      const unit = this.units[index]!;
      if (this.isSettled(unit.first, unit.count)) {
        this.units.splice(index, 1);
        index -= 1;
        continue;
      }
      if (unit.excluded.has(lane)) continue;
      const heldUntil = unit.holds.get(lane) ?? 0;
      if (heldUntil > now) {
        this.earliestHoldMs = Math.min(this.earliestHoldMs, heldUntil);
        continue;
      }
      this.units.splice(index, 1);
      return unit;
    }
    return undefined;
  }

  /** Forget the holds seen so far: a new round of {@link takeFor} calls starts. */
  resetHolds(): void {
    this.earliestHoldMs = Infinity;
  }

  /**
   * Ranges held back after a failure become available without any event to say so: call `wake`
   * when the earliest hold seen in this round has passed (a timer may fire a little before
   * `Date.now()` reaches it, hence the extra millisecond; waking from the timer that backed off
   * is not enough).
   */
  wakeAfterHolds(wake: () => void): void {
    if (!Number.isFinite(this.earliestHoldMs)) return;
    const dueMs = this.earliestHoldMs;
    if (this.timer && this.timerDueMs <= dueMs) return;
    clearTimeout(this.timer);
    this.timerDueMs = dueMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      wake();
    }, Math.max(1, dueMs - Date.now() + 1));
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.units.length = 0;
  }
}
