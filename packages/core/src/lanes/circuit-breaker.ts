/** A lane's health, as the executor sees it over every job. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Consecutive lane failures (platform unavailable, access denied, invocations timing out) that open the breaker. */
export const BREAKER_FAILURE_THRESHOLD = 3;
/** How long a lane stays out before one probe invocation is let through, doubling on each failed probe. */
export const BREAKER_FIRST_COOLDOWN_MS = 5_000;
export const BREAKER_MAX_COOLDOWN_MS = 60_000;

/**
 * Takes a failing lane out of dispatch. After a few consecutive failures that point at the
 * platform rather than at a task, the breaker opens: jobs stop sending to the lane and move its
 * work to their other lanes. After a cooldown one probe invocation is let through (half-open);
 * its success closes the breaker, its failure opens it again for twice as long.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAtMs = 0;
  private cooldownMs = BREAKER_FIRST_COOLDOWN_MS;
  private opened = false;
  private probing = false;

  get state(): BreakerState {
    if (!this.opened) return 'closed';
    return Date.now() - this.openedAtMs >= this.cooldownMs ? 'half-open' : 'open';
  }

  /** Whether an invocation may go out now; in half-open state, only one probe at a time. */
  allows(): boolean {
    const state = this.state;
    return state === 'closed' || (state === 'half-open' && !this.probing);
  }

  /** An invocation is going out; in half-open state it is the probe. */
  dispatched(): void {
    if (this.state === 'half-open') this.probing = true;
  }

  /** Milliseconds until a half-open probe may go out (0 when closed or half-open). */
  msUntilProbe(): number {
    return this.opened ? Math.max(0, this.cooldownMs - (Date.now() - this.openedAtMs)) : 0;
  }

  succeeded(): void {
    this.failures = 0;
    this.opened = false;
    this.probing = false;
    this.cooldownMs = BREAKER_FIRST_COOLDOWN_MS;
  }

  /** A failure that points at the lane. Returns true when this failure opened the breaker. */
  failed(): boolean {
    this.failures += 1;
    if (this.probing) {
      this.probing = false;
      this.cooldownMs = Math.min(BREAKER_MAX_COOLDOWN_MS, this.cooldownMs * 2);
      this.openedAtMs = Date.now();
      return false;
    }
    if (this.opened || this.failures < BREAKER_FAILURE_THRESHOLD) return false;
    this.opened = true;
    this.openedAtMs = Date.now();
    return true;
  }
}
