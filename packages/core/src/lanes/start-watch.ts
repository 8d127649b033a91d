/**
 * How long a lane's asynchronous invocations take to start: from the platform accepting one to
 * its worker's start signal being listed (see `scheduler/liveness.ts`). A property of the
 * platform, not of a job, so it is kept per lane and every job on the lane learns from it.
 */

/** Samples kept per window: enough for a stable 90th percentile, recent enough to follow a change. */
const WINDOW = 256;
/** Before any start was seen on a lane: long enough for a cold start anywhere. */
const START_DEADLINE_UNKNOWN_MS = 10_000;
/** Until this many starts were seen, the start deadline stays generous (cold starts come first). */
const START_SAMPLES_TRUSTED = 10;
const START_DEADLINE_UNTRUSTED_MS = 3_000;
const START_DEADLINE_MIN_MS = 1_000;

/** Recent durations of one kind, for percentiles. */
export class LatencyWindow {
  private readonly samples: number[] = [];
  private next = 0;

  add(ms: number): void {
    if (this.samples.length < WINDOW) this.samples.push(ms);
    else this.samples[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
  }

  get count(): number {
    return this.samples.length;
  }

  /** The `fraction` quantile (0..1) of the samples, or `undefined` without any. */
  quantile(fraction: number): number | undefined {
    if (!this.samples.length) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))]!;
  }
}

/** What a lane has seen of its asynchronous invocations starting, over every job. */
export class StartWatch {
  readonly starts = new LatencyWindow();
  /** When a start signal of this lane was last listed (epoch ms). */
  lastStartMs = 0;
  /**
   * Whether this lane's workers write start signals: `true` once one was listed, `false` once a
   * record came without one (an older worker), `undefined` before either.
   */
  signals: boolean | undefined = undefined;

  started(latencyMs: number, now = Date.now()): void {
    this.starts.add(latencyMs);
    this.lastStartMs = now;
    this.signals = true;
  }

  /** How long an accepted invocation may go without a start signal, or `undefined` for workers that write none. */
  startDeadlineMs(): number | undefined {
    if (this.signals === false) return undefined;
    if (!this.starts.count) return START_DEADLINE_UNKNOWN_MS;
    if (this.starts.count < START_SAMPLES_TRUSTED) return Math.max(START_DEADLINE_UNTRUSTED_MS, 4 * this.starts.quantile(1)!);
    // The slowest recent start too: a cold start (the platform making a new worker, as it does
    // when it scales or replaces a crashed one) is rarer than one in ten but no loss.
    return Math.max(START_DEADLINE_MIN_MS, 4 * this.starts.quantile(0.9)!, this.starts.quantile(1)!);
  }
}
