import type { OutputStream } from './cli-io.js';
import { formatDuration } from './format.js';

/** A terminal redraws at most this often: faster only burns CPU in the terminal emulator. */
const REDRAW_INTERVAL_MS = 100;
/** The bar is redrawn this often even without news, so the rate and ETA keep moving. */
const TICK_INTERVAL_MS = 1000;
/** Without a terminal, a line at every tenth of the job... */
const LOG_STEPS = 10;
/** ...or when something changed and this long passed since the last line... */
const LOG_INTERVAL_MS = 2000;
/** ...but never closer together than this: a job that finishes at once gets only its last line. */
const LOG_MIN_GAP_MS = 500;
const BAR_WIDTH = 24;

/** Progress of a job on stderr, never on stdout, which carries results. */
export interface Progress {
  /** Report how many tasks are done (succeeded or failed) and how many of those failed. */
  update(done: number, failed: number): void;
  /** Print a line of text without garbling the bar. */
  note(text: string): void;
  /** Draw the final state and stop every timer. */
  finish(): void;
}

export type ProgressOptions = {
  stream: OutputStream;
  total: number;
  /** Redraw one line in place (a terminal) or print plain lines (a log, CI). Default: `stream.isTTY`. */
  interactive?: boolean;
  /** Clock, for tests. Default: `Date.now`. */
  now?: () => number;
  /** More to say after the counts, such as tasks per lane (`final` once every task is done); `undefined` for nothing. */
  detail?: (final: boolean) => string | undefined;
};

/** A progress display for the stream: a bar on a terminal, lines elsewhere, nothing when quiet. */
export function createProgress(options: ProgressOptions & { quiet?: boolean }): Progress {
  if (options.quiet) return { update() {}, note() {}, finish() {} };
  return (options.interactive ?? options.stream.isTTY === true) ? new ProgressBar(options) : new ProgressLines(options);
}

type Counts = { done: number; failed: number };

abstract class ProgressBase implements Progress {
  protected readonly stream: OutputStream;
  protected readonly total: number;
  protected readonly now: () => number;
  protected readonly startMs: number;
  protected counts: Counts = { done: 0, failed: 0 };
  private readonly detail: ((final: boolean) => string | undefined) | undefined;

  constructor(options: ProgressOptions) {
    this.detail = options.detail;
    this.stream = options.stream;
    this.total = options.total;
    this.now = options.now ?? Date.now;
    this.startMs = this.now();
  }

  abstract update(done: number, failed: number): void;
  abstract note(text: string): void;
  abstract finish(): void;

  /** `45/100 (45%), 2 failed, 12.3 tasks/s, ETA 5 s`: the parts both displays share. */
  protected describe(): string {
    const { done, failed } = this.counts;
    const elapsedSeconds = (this.now() - this.startMs) / 1000;
    const percent = this.total === 0 ? 100 : Math.floor((done / this.total) * 100);
    const parts = [`${done}/${this.total} (${percent}%)`];
    if (failed > 0) parts.push(`${failed} failed`);
    if (done > 0 && elapsedSeconds > 0) {
      const rate = done / elapsedSeconds;
      parts.push(`${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)} tasks/s`);
      if (done < this.total) parts.push(`ETA ${formatDuration(((this.total - done) / rate) * 1000)}`);
    }
    if (done >= this.total) parts.push(`in ${formatDuration(this.now() - this.startMs)}`);
    const detail = this.detail?.(done >= this.total);
    return detail ? `${parts.join(', ')}; ${detail}` : parts.join(', ');
  }
}

class ProgressBar extends ProgressBase {
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private pendingDraw: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;
  private finished = false;

  constructor(options: ProgressOptions) {
    super(options);
    // Unreferenced: a forgotten bar must never keep the process alive.
    this.ticker = setInterval(() => this.draw(), TICK_INTERVAL_MS).unref();
    this.draw();
  }

  update(done: number, failed: number): void {
    this.counts = { done, failed };
    if (this.finished) return;
    const sinceLast = this.now() - this.lastDrawMs;
    if (sinceLast >= REDRAW_INTERVAL_MS) this.draw();
    else this.pendingDraw ??= setTimeout(() => this.draw(), REDRAW_INTERVAL_MS - sinceLast).unref();
  }

  note(text: string): void {
    this.stream.write(`\r\x1b[K${text}\n`);
    if (!this.finished) this.draw();
  }

  finish(): void {
    if (this.finished) return;
    this.draw();
    this.finished = true;
    clearInterval(this.ticker);
    clearTimeout(this.pendingDraw);
    this.stream.write('\n');
  }

  private draw(): void {
    if (this.finished) return;
    clearTimeout(this.pendingDraw);
    this.pendingDraw = undefined;
    this.lastDrawMs = this.now();
    const fraction = this.total === 0 ? 1 : Math.min(1, this.counts.done / this.total);
    const filled = Math.round(fraction * BAR_WIDTH);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${this.describe()}`;
    const width = this.stream.columns ?? 80;
    // Longer than the terminal, the line would wrap and `\r` could no longer erase it.
    this.stream.write(`\r${line.length >= width ? line.slice(0, width - 1) : line}\x1b[K`);
  }
}

class ProgressLines extends ProgressBase {
  private lastLineMs: number;
  private lastLineDone = 0;
  /** Counted in whole steps, not fractions, so 0.1 + 0.2 rounding cannot skip a line. */
  private nextStep = 1;

  constructor(options: ProgressOptions) {
    super(options);
    this.lastLineMs = this.startMs;
  }

  update(done: number, failed: number): void {
    const changed = done !== this.counts.done || failed !== this.counts.failed;
    this.counts = { done, failed };
    const sinceLast = this.now() - this.lastLineMs;
    const stepReached = this.stepOf(done) >= this.nextStep && done < this.total && sinceLast >= LOG_MIN_GAP_MS;
    const intervalPassed = changed && sinceLast >= LOG_INTERVAL_MS;
    if (stepReached || intervalPassed) this.print();
  }

  note(text: string): void {
    this.stream.write(`${text}\n`);
  }

  finish(): void {
    if (this.lastLineDone !== this.counts.done || this.counts.done === 0) this.print();
  }

  private print(): void {
    this.nextStep = this.stepOf(this.counts.done) + 1;
    this.lastLineMs = this.now();
    this.lastLineDone = this.counts.done;
    this.stream.write(`progress: ${this.describe()}\n`);
  }

  private stepOf(done: number): number {
    return this.total === 0 ? LOG_STEPS : Math.floor((done * LOG_STEPS) / this.total);
  }
}
