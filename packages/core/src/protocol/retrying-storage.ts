import {
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
import { backoffMs } from '../scheduler/retry-policy.js';

/** Attempts per storage request before its error reaches the job. */
export const STORAGE_ATTEMPTS = 4;

const replayable = Symbol('fanout.replayableBody');

/** Mark a streamed body whose iteration can start over, so a failed put of it may be retried. */
export function replayableBody(iterate: () => AsyncIterator<Uint8Array>): AsyncIterable<Uint8Array> {
  return { [replayable]: true, [Symbol.asyncIterator]: iterate } as AsyncIterable<Uint8Array>;
}

/**
 * Retries the client's storage requests that fail retryably (`BACKEND_UNAVAILABLE`,
 * `THROTTLED`), with backoff and jitter, so one transient error while storing a job object or
 * reading a record does not fail a whole job. Workers need no such wrapper: a failed invocation
 * is retried as a whole by the scheduler.
 *
 * Every request fanout makes is safe to repeat: puts write the same bytes again, and a create
 * whose first attempt succeeded without an answer reports `false` the second time, which callers
 * treat the same as success (the object exists with the same content). A streamed put is
 * retried only when its body is {@link replayableBody}: an ordinary stream can be read once.
 */
export class RetryingStorage implements StorageBackendV1 {
  readonly specificationVersion = 'v1';
  readonly create?: (key: string, body: Uint8Array, options?: StoragePutOptions) => Promise<boolean>;
  readonly getStream?: (key: string, options?: StorageGetOptions) => Promise<AsyncIterable<Uint8Array> | undefined>;

  constructor(
    readonly inner: StorageBackendV1,
    private readonly attempts = STORAGE_ATTEMPTS,
  ) {
    const create = inner.create?.bind(inner);
    if (create) this.create = (key, body, options) => this.retry(() => create(key, body, options), options);
    const getStream = inner.getStream?.bind(inner);
    if (getStream) this.getStream = (key, options) => this.retry(() => getStream(key, options), options);
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
    return this.retry(() => this.inner.get(key, options), options);
  }

  head(key: string, options?: StorageOperationOptions): Promise<StorageObjectInfo | undefined> {
    return this.retry(() => this.inner.head(key, options), options);
  }

  put(key: string, body: StorageBody, options?: StoragePutOptions): Promise<void> {
    if (!(body instanceof Uint8Array) && !(replayable in body)) return this.inner.put(key, body, options);
    return this.retry(() => this.inner.put(key, body, options), options);
  }

  delete(keys: readonly string[], options?: StorageOperationOptions): Promise<void> {
    return this.retry(() => this.inner.delete(keys, options), options);
  }

  list(prefix: string, options?: StorageListOptions): Promise<StorageListPage> {
    return this.retry(() => this.inner.list(prefix, options), options);
  }

  dispose(): Promise<void> {
    return this.inner.dispose?.() ?? Promise.resolve();
  }

  private async retry<T>(request: () => Promise<T>, options: StorageOperationOptions | undefined): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await request();
      } catch (error) {
        if (attempt >= this.attempts || !FanoutError.isInstance(error) || !error.retryable || options?.signal?.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt, error.retryAfterMs)));
      }
    }
  }
}
