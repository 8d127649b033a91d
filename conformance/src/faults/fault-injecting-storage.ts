import {
  ErrorCode,
  FanoutError,
  type StorageBackendV1,
  type StorageBody,
  type StorageGetOptions,
  type StorageListOptions,
  type StorageListPage,
  type StorageObjectInfo,
  type StorageOperationOptions,
  type StoragePutOptions,
} from '@fanout/spec';
import { DEFAULT_SEED } from '../environment.js';
import { assertShare, delay, FaultSchedule } from './seeded-random.js';

/** The storage operations a fault can be injected into. */
export type StorageOperationName = 'get' | 'getStream' | 'head' | 'put' | 'create' | 'delete' | 'list';

/** Which faults to inject, on what share of requests. Every share is from 0 to 1 and defaults to 0. */
export type StorageFaultOptions = {
  /** Share of requests that fail at once with a retryable `BACKEND_UNAVAILABLE`, as a 503 would, without reaching the store. */
  unavailableShare?: number;
  /**
   * Share of requests that hang for {@link StorageFaultOptions.timeoutDelayMs} and then fail with a
   * retryable `BACKEND_UNAVAILABLE` (the code the spec gives transient platform failures). Half of
   * the timed-out writes (seeded) are applied before the failure: a write that timed out may have
   * landed, and a caller must cope with both.
   */
  timeoutShare?: number;
  /** How long a timed-out request hangs, in milliseconds. Default: 250. */
  timeoutDelayMs?: number;
  /** The operations faults are injected into. Default: all of them. */
  operations?: readonly StorageOperationName[];
  /**
   * Inject at most one fault per operation and key: the first request for a key that the shares
   * select fails, and every later request for it passes, as a retry after a blip would. Default: `false`.
   */
  oncePerKey?: boolean;
  /**
   * An outage: from the request after the first `afterRequests`, every request (of the chosen
   * operations) fails with a retryable `BACKEND_UNAVAILABLE` for `durationMs`, as during a burst
   * of 503s. Default: none.
   */
  outage?: { afterRequests: number; durationMs: number };
  /** Seed of the decisions. Default: the suite's default seed. */
  seed?: number;
};

/** What a {@link FaultInjectingStorage} has done so far. */
export type StorageFaultCounts = {
  /** Requests it saw, faulted or not. */
  requests: number;
  unavailable: number;
  timeouts: number;
  /** Timed-out writes that were applied before the failure was reported. */
  appliedBeforeTimeout: number;
  /** Faults of either kind, by operation: which requests failed matters as much as how many. */
  byOperation: Partial<Record<StorageOperationName, number>>;
};

/** Zero counts. */
export function emptyStorageFaultCounts(): StorageFaultCounts {
  return { requests: 0, unavailable: 0, timeouts: 0, appliedBeforeTimeout: 0, byOperation: {} };
}

/** Add `more` into `into`, in place. */
export function addStorageFaultCounts(into: StorageFaultCounts, more: StorageFaultCounts): StorageFaultCounts {
  into.requests += more.requests;
  into.unavailable += more.unavailable;
  into.timeouts += more.timeouts;
  into.appliedBeforeTimeout += more.appliedBeforeTimeout;
  for (const [operation, faults] of Object.entries(more.byOperation) as [StorageOperationName, number][]) {
    into.byOperation[operation] = (into.byOperation[operation] ?? 0) + faults;
  }
  return into;
}

const ALL_OPERATIONS: readonly StorageOperationName[] = ['get', 'getStream', 'head', 'put', 'create', 'delete', 'list'];

/**
 * Wraps any storage backend and injects transient failures into a seeded share of its requests. It
 * implements the same contract, declares the same capabilities and passes the inner `reference`
 * through, so that workers in other processes open the inner storage (their requests are not
 * faulted). Counts every fault it injects.
 */
export class FaultInjectingStorage implements StorageBackendV1 {
  readonly specificationVersion = 'v1';
  readonly counts: StorageFaultCounts = emptyStorageFaultCounts();
  readonly create?: (key: string, body: Uint8Array, options?: StoragePutOptions) => Promise<boolean>;
  readonly getStream?: (key: string, options?: StorageGetOptions) => Promise<AsyncIterable<Uint8Array> | undefined>;
  private readonly schedule: FaultSchedule<'unavailable' | 'timeout'>;
  private readonly timeoutDelayMs: number;
  private readonly operations: ReadonlySet<StorageOperationName>;
  private readonly faultedKeys: Set<string> | undefined;
  private readonly outage: { afterRequests: number; durationMs: number } | undefined;
  private outageStartedMs: number | undefined;

  constructor(
    readonly inner: StorageBackendV1,
    options: StorageFaultOptions = {},
  ) {
    const unavailableShare = assertShare('unavailableShare', options.unavailableShare);
    const timeoutShare = assertShare('timeoutShare', options.timeoutShare);
    if (unavailableShare + timeoutShare > 1) throw new TypeError('unavailableShare and timeoutShare add up to more than 1.');
    this.schedule = new FaultSchedule(
      [
        ['unavailable', unavailableShare],
        ['timeout', timeoutShare],
      ],
      options.seed ?? DEFAULT_SEED,
    );
    this.timeoutDelayMs = options.timeoutDelayMs ?? 250;
    this.operations = new Set(options.operations ?? ALL_OPERATIONS);
    this.faultedKeys = options.oncePerKey ? new Set() : undefined;
    this.outage = options.outage;
    // Optional methods exist only when the inner backend has them, as callers test for presence.
    const create = inner.create?.bind(inner);
    if (create) this.create = (key, body, operationOptions) => this.perform('create', key, operationOptions?.signal, () => create(key, body, operationOptions));
    const getStream = inner.getStream?.bind(inner);
    if (getStream) this.getStream = (key, operationOptions) => this.perform('getStream', key, operationOptions?.signal, () => getStream(key, operationOptions));
  }

  get name(): string {
    return this.inner.name;
  }

  get capabilities() {
    return this.inner.capabilities;
  }

  get reference() {
    return this.inner.reference;
  }

  get(key: string, options?: StorageGetOptions): Promise<Uint8Array | undefined> {
    return this.perform('get', key, options?.signal, () => this.inner.get(key, options));
  }

  head(key: string, options?: StorageOperationOptions): Promise<StorageObjectInfo | undefined> {
    return this.perform('head', key, options?.signal, () => this.inner.head(key, options));
  }

  put(key: string, body: StorageBody, options?: StoragePutOptions): Promise<void> {
    return this.perform('put', key, options?.signal, () => this.inner.put(key, body, options));
  }

  delete(keys: readonly string[], options?: StorageOperationOptions): Promise<void> {
    return this.perform('delete', keys.join('\n'), options?.signal, () => this.inner.delete(keys, options));
  }

  list(prefix: string, options?: StorageListOptions): Promise<StorageListPage> {
    return this.perform('list', `${prefix}\n${options?.cursor ?? ''}`, options?.signal, () => this.inner.list(prefix, options));
  }

  dispose(): Promise<void> {
    return this.inner.dispose?.() ?? Promise.resolve();
  }

  private async perform<T>(operation: StorageOperationName, key: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    this.counts.requests += 1;
    if (!this.operations.has(operation)) return call();
    if (this.inOutage()) {
      this.count(operation, 'unavailable');
      throw injected(`injected fault: ${operation} refused during an outage`);
    }
    const identity = `${operation}\n${key}`;
    if (this.faultedKeys?.has(identity)) return call();
    const fault = this.schedule.next();
    if (fault === undefined) return call();
    this.faultedKeys?.add(identity);
    this.count(operation, fault);
    if (fault === 'unavailable') throw injected(`injected fault: ${operation} refused as unavailable`);
    const writes = operation === 'put' || operation === 'create' || operation === 'delete';
    const apply = writes && this.schedule.random() < 0.5;
    if (apply) {
      this.counts.appliedBeforeTimeout += 1;
      await call().catch(() => undefined);
    }
    await delay(this.timeoutDelayMs, signal, () => new FanoutError('The operation was aborted.', { code: ErrorCode.ABORTED, fault: 'caller' }));
    throw injected(`injected fault: ${operation} timed out after ${this.timeoutDelayMs} ms${apply ? ' (the write was applied)' : ''}`);
  }

  private inOutage(): boolean {
    if (!this.outage) return false;
    if (this.outageStartedMs === undefined && this.counts.requests > this.outage.afterRequests) this.outageStartedMs = Date.now();
    return this.outageStartedMs !== undefined && Date.now() - this.outageStartedMs < this.outage.durationMs;
  }

  private count(operation: StorageOperationName, fault: 'unavailable' | 'timeout'): void {
    if (fault === 'unavailable') this.counts.unavailable += 1;
    else this.counts.timeouts += 1;
    this.counts.byOperation[operation] = (this.counts.byOperation[operation] ?? 0) + 1;
  }
}

function injected(message: string): FanoutError {
  return new FanoutError(message, { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true, fault: 'backend' });
}
