import { ErrorCode, FanoutError, type ResultRecordV1, type StorageBackendV1 } from '@fanout/spec';
import { decodeInvocationFailure, decodeRecord } from '@fanout/worker';
import type { InvocationSignal, RecordRange, StorageLayout } from '../protocol/layout.js';
import { oversizedRecord, setAside, type SetAsideObject } from '../protocol/set-aside.js';

/** Shortest and longest pause between listings, in milliseconds. */
export const POLL_MIN_MS = 25;
export const POLL_MAX_MS = 2000;
/**
 * Longest pause while an accepted invocation has not been seen to start: how soon its start
 * signal is seen bounds how soon a dropped one is found (see `liveness.ts`). Also the shortest
 * ceiling {@link ResultPollerOptions.maxIntervalMs} gives.
 */
export const POLL_STARTING_MAX_MS = 250;

export type ResultPollerOptions = {
  storage: StorageBackendV1;
  layout: StorageLayout;
  jobId: string;
  /** Whether every task of a range already has an outcome (its record need not be read). */
  isSettled: (first: number, count: number) => boolean;
  /** Whether any asynchronous invocation is still expected to report. */
  isWaiting: () => boolean;
  /** The longest pause between listings now, from {@link POLL_STARTING_MAX_MS} to {@link POLL_MAX_MS} (see `pollCeilingMs`). */
  maxIntervalMs: () => number;
  /** A record was listed under the key of generation `generation` of its range. */
  onRecord: (record: ResultRecordV1, generation: number) => void;
  /** A start signal was listed: attempt `attempt` at the range began (see `liveness.ts`). */
  onStarted: (signal: InvocationSignal) => void;
  /** An object where a record of `range` belongs was not one; it has been set aside (see `set-aside.ts`). */
  onSetAside: (report: SetAsideObject, range: RecordRange) => void;
  /** The platform reported that attempt `attempt` at the range failed without a record. */
  onFailed: (signal: InvocationSignal, error: FanoutError) => void;
  onError: (error: unknown) => void;
};

/**
 * Finds result records of asynchronous invocations, and their start signals, by listing the job's
 * one results prefix. The
 * pause between listings adapts: it halves when a listing finds something new and grows by half
 * when it finds nothing, so a busy job is followed closely and an idle one costs little, up to a
 * ceiling the run sets (short while a start signal is awaited, a fraction of the job's run time
 * while ranges run: see `pollCeilingMs`). It lists
 * only while invocations are outstanding and never after the job is done.
 */
export class ResultPoller {
  private readonly seen = new Set<string>();
  private intervalMs = POLL_MIN_MS * 4;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private stopped = false;
  /** When the latest completed listing began (epoch ms): everything written before then has been seen. */
  listedMs = 0;

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
    const began = Date.now();
    try {
      found = await this.listOnce();
      this.listedMs = began;
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.polling = false;
    }
    this.intervalMs = found > 0 ? Math.max(POLL_MIN_MS, this.intervalMs / 2) : Math.min(this.options.maxIntervalMs(), this.intervalMs * 1.5);
    if (!this.stopped && this.options.isWaiting()) this.watch();
  }

  private async listOnce(): Promise<number> {
    const { storage, layout, jobId } = this.options;
    const prefix = layout.resultsPrefix(jobId);
    let found = 0;
    let cursor: string | undefined;
    do {
      const page = await storage.list(prefix, cursor === undefined ? {} : { cursor });
      // Signals first: a start listed with its own record still measures how long starting took.
      for (const { key } of page.objects) {
        if (this.stopped) return found;
        if (this.seen.has(key)) continue;
        const signal = layout.parseSignalKey(jobId, key);
        if (!signal) continue;
        if (signal.kind === 'started') {
          this.seen.add(key);
          found += 1;
          this.options.onStarted(signal);
          continue;
        }
        found += await this.readOnce(key, signal, (bytes) => this.options.onFailed(signal, decodeInvocationFailure(bytes, key)));
      }
      for (const { key, size } of page.objects) {
        if (this.stopped) return found;
        if (this.seen.has(key)) continue;
        const range = layout.parseResultKey(jobId, key);
        if (!range) {
          if (!layout.parseSignalKey(jobId, key)) this.seen.add(key);
          continue;
        }
        const oversized = oversizedRecord(size);
        if (oversized && !this.options.isSettled(range.first, range.count)) await this.setAside(key, range, oversized);
        else found += await this.readOnce(key, range, (bytes) => this.options.onRecord(decodeRecord(bytes, key), range.generation));
      }
      cursor = page.cursor;
    } while (cursor !== undefined && !this.stopped);
    return found;
  }

  /** Read `key` about `range` and hand it to `use`, unless the range is settled already; 1 if it was read. */
  private async readOnce(key: string, range: RecordRange, use: (bytes: Uint8Array) => void): Promise<number> {
    if (this.options.isSettled(range.first, range.count)) {
      this.seen.add(key);
      return 0;
    }
    // Marked seen only once read: an object that failed to download is tried again on the next
    // listing, since a retried invocation cannot write it a second time.
    const bytes = await this.options.storage.get(key);
    if (!bytes || this.stopped) return 0;
    this.seen.add(key);
    try {
      use(bytes);
    } catch (error) {
      if (!FanoutError.isInstance(error, ErrorCode.PROTOCOL_ERROR)) throw error;
      await this.setAside(key, range, error.message, bytes);
      return 0;
    }
    return 1;
  }

  /**
   * Move a bad object out of the range's way and report it. Unseen again once gone: the range's
   * next record is written under the same key.
   */
  private async setAside(key: string, range: RecordRange, reason: string, bytes?: Uint8Array): Promise<void> {
    this.seen.add(key);
    try {
      this.options.onSetAside(await setAside(this.options.storage, this.options.layout, key, reason, bytes), range);
    } finally {
      this.seen.delete(key);
    }
  }
}
