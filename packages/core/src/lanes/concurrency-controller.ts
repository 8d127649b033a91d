/**
 * How many invocations one compute backend may have in flight, shared by every job that runs on
 * it: the executor owns one per lane, so two concurrent jobs on one backend never exceed its cap
 * together. The cap adapts (AIMD): a throttled invocation halves it, each success adds one back
 * up to the ceiling, and a platform's `Retry-After` pauses new invocations until it has passed.
 */
export class ConcurrencyController {
  private capacity: number;
  private held = 0;
  private pausedUntilMs = 0;
  private resumeTimer: NodeJS.Timeout | undefined;
  private readonly listeners: Array<() => void> = [];
  private notifying = false;

  /** @param ceiling most invocations in flight, at least 1 */
  constructor(readonly ceiling: number) {
    if (!Number.isInteger(ceiling) || ceiling < 1) throw new TypeError(`A lane's concurrency must be a whole number of at least 1; got ${ceiling}.`);
    this.capacity = ceiling;
  }

  /** The current cap: the ceiling, or less after throttling. */
  get cap(): number {
    return this.capacity;
  }

  /** Slots held right now, over every job. */
  get inFlight(): number {
    return this.held;
  }

  /** Take a slot if one is free and no `Retry-After` pause is running. */
  tryAcquire(): boolean {
    if (this.held >= this.capacity || Date.now() < this.pausedUntilMs) return false;
    this.held += 1;
    return true;
  }

  /** Give a slot back; jobs waiting for one are told. */
  release(): void {
    this.held = Math.max(0, this.held - 1);
    this.notify();
  }

  /** An invocation succeeded: additive increase. */
  succeeded(): void {
    if (this.capacity < this.ceiling) {
      this.capacity += 1;
      this.notify();
    }
  }

  /** The platform throttled an invocation: multiplicative decrease, and a pause for its `Retry-After`. */
  throttled(retryAfterMs: number | undefined): void {
    this.capacity = Math.max(1, Math.floor(this.capacity / 2));
    if (retryAfterMs === undefined || !(retryAfterMs > 0)) return;
    const until = Date.now() + retryAfterMs;
    if (until <= this.pausedUntilMs) return;
    this.pausedUntilMs = until;
    this.armResume();
  }

  /**
   * Wake the waiting jobs once the pause is over. A timer may fire a little before `Date.now()`
   * reaches its due time, so it re-arms until the pause has really passed: a job with nothing in
   * flight has no other event to wake it. The timer keeps the process alive only while some job
   * waits on this lane.
   */
  private armResume(): void {
    clearTimeout(this.resumeTimer);
    this.resumeTimer = setTimeout(() => {
      this.resumeTimer = undefined;
      if (Date.now() < this.pausedUntilMs) return this.armResume();
      this.notify();
    }, Math.max(1, this.pausedUntilMs - Date.now() + 1));
    if (this.listeners.length === 0) this.resumeTimer.unref();
  }

  /** Be told whenever a slot may have come free. Returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.listeners.push(listener);
    this.resumeTimer?.ref();
    return () => {
      const index = this.listeners.indexOf(listener);
      if (index >= 0) this.listeners.splice(index, 1);
      // Nobody waits any more: a pause must never keep a finished process alive.
      if (this.listeners.length === 0) this.resumeTimer?.unref();
    };
  }

  /**
   * Wake the waiting jobs, rotating who goes first so that one job cannot take every freed slot.
   * Deferred to a microtask: a slot is often released inside a job's own bookkeeping.
   */
  private notify(): void {
    if (this.notifying || this.listeners.length === 0) return;
    this.notifying = true;
    queueMicrotask(() => {
      this.notifying = false;
      const first = this.listeners.shift();
      if (first) this.listeners.push(first);
      for (const listener of [...this.listeners]) listener();
    });
  }
}
