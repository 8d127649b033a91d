import type { ResultRecordV1, StorageBackendV1 } from '@fanout/spec';
import { decodeRecord } from '@fanout/worker';
import type { StorageLayout } from '../protocol/layout.js';

/** Shortest and longest pause between listings, in milliseconds. */
export const POLL_MIN_MS = 25;
export const POLL_MAX_MS = 2000;

export type ResultPollerOptions = {
  storage: StorageBackendV1;
  layout: StorageLayout;
  jobId: string;
  /** Whether every task of a range already has an outcome (its record need not be read). */
  isSettled: (first: number, count: number) => boolean;
  /** Whether any asynchronous invocation is still expected to report. */
  isWaiting: () => boolean;
  onRecord: (record: ResultRecordV1) => void;
  onError: (error: unknown) => void;
};

/**
 * Finds result records of asynchronous invocations by listing the job's one results prefix. The
 * pause between listings adapts: it halves when a listing finds something new and grows by half
 * when it finds nothing, so a busy job is followed closely and an idle one costs little. It lists
 * only while invocations are outstanding and never after the job is done.
 */
export class ResultPoller {
  private readonly seen = new Set<string>();
  private intervalMs = POLL_MIN_MS * 4;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;

  constructor(private readonly options: ResultPollerOptions) {}

  /** Make sure a listing is scheduled. Called whenever an asynchronous invocation is accepted. */
  watch(): void {
    if (this.stopped || this.timer || this.polling) return;
    this.timer = setTimeout(() => void this.poll(), this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    this.timer = undefined;
    this.polling = true;
    let found = 0;
    try {
      found = await this.listOnce();
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.polling = false;
    }
    this.intervalMs = found > 0 ? Math.max(POLL_MIN_MS, this.intervalMs / 2) : Math.min(POLL_MAX_MS, this.intervalMs * 1.5);
    if (!this.stopped && this.options.isWaiting()) this.watch();
  }

  private async listOnce(): Promise<number> {
    const { storage, layout, jobId } = this.options;
    const prefix = layout.resultsPrefix(jobId);
    let found = 0;
    let cursor: string | undefined;
    do {
      const page = await storage.list(prefix, cursor === undefined ? {} : { cursor });
      for (const { key } of page.objects) {
        if (this.stopped) return found;
        if (this.seen.has(key)) continue;
        const range = layout.parseResultKey(jobId, key);
        if (!range || this.options.isSettled(range.first, range.count)) {
          this.seen.add(key);
          continue;
        }
        // Marked seen only once read: a record that failed to download is tried again on the
        // next listing, since a retried invocation cannot write it a second time.
        const bytes = await storage.get(key);
        if (!bytes || this.stopped) continue;
        this.seen.add(key);
        found += 1;
        this.options.onRecord(decodeRecord(bytes, key));
      }
      cursor = page.cursor;
    } while (cursor !== undefined && !this.stopped);
    return found;
  }
}
