import type {
  StorageBackendV1,
  StorageBody,
  StorageGetOptions,
  StorageListOptions,
  StorageListPage,
  StorageObjectInfo,
  StorageOperationOptions,
  StoragePutOptions,
  StorageRequestCounts,
} from '@fanout/spec';

/** A fresh set of zero counts. */
export function emptyRequestCounts(): StorageRequestCounts {
  return { get: 0, getRange: 0, head: 0, put: 0, create: 0, list: 0, delete: 0, bytesRead: 0, bytesWritten: 0 };
}

/** Add `more` into `into`, in place. */
export function addRequestCounts(into: StorageRequestCounts, more: StorageRequestCounts): StorageRequestCounts {
  for (const key of Object.keys(into) as (keyof StorageRequestCounts)[]) into[key] += more[key];
  return into;
}

/** Requests only (bytes excluded). */
export function totalRequests(counts: StorageRequestCounts): number {
  return counts.get + counts.getRange + counts.head + counts.put + counts.create + counts.list + counts.delete;
}

/**
 * Wraps any storage backend and counts its requests by kind and the bytes moved. Every request
 * the protocol makes, on the client and in the worker, goes through one of these, which is how
 * the protocol's targets are measured rather than estimated.
 *
 * A batch delete counts as one request, as it is on the stores that support it.
 */
export class CountingStorage implements StorageBackendV1 {
  readonly specificationVersion = 'v1';
  readonly counts: StorageRequestCounts = emptyRequestCounts();
  readonly create?: (key: string, body: Uint8Array, options?: StoragePutOptions) => Promise<boolean>;
  readonly getStream?: (key: string, options?: StorageGetOptions) => Promise<AsyncIterable<Uint8Array> | undefined>;

  constructor(readonly inner: StorageBackendV1) {
    const create = inner.create?.bind(inner);
    if (create) {
      this.create = async (key, body, options) => {
        this.counts.create += 1;
        const created = await create(key, body, options);
        if (created) this.counts.bytesWritten += body.byteLength;
        return created;
      };
    }
    const getStream = inner.getStream?.bind(inner);
    if (getStream) {
      this.getStream = async (key, options) => {
        if (options?.range) this.counts.getRange += 1;
        else this.counts.get += 1;
        const stream = await getStream(key, options);
        return stream && this.countChunks(stream);
      };
    }
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

  async get(key: string, options?: StorageGetOptions): Promise<Uint8Array | undefined> {
    if (options?.range) this.counts.getRange += 1;
    else this.counts.get += 1;
    const bytes = await this.inner.get(key, options);
    if (bytes) this.counts.bytesRead += bytes.byteLength;
    return bytes;
  }

  head(key: string, options?: StorageOperationOptions): Promise<StorageObjectInfo | undefined> {
    this.counts.head += 1;
    return this.inner.head(key, options);
  }

  async put(key: string, body: StorageBody, options?: StoragePutOptions): Promise<void> {
    this.counts.put += 1;
    if (body instanceof Uint8Array) {
      await this.inner.put(key, body, options);
      this.counts.bytesWritten += body.byteLength;
    } else {
      await this.inner.put(key, this.countChunks(body, 'bytesWritten'), options);
    }
  }

  delete(keys: readonly string[], options?: StorageOperationOptions): Promise<void> {
    this.counts.delete += 1;
    return this.inner.delete(keys, options);
  }

  list(prefix: string, options?: StorageListOptions): Promise<StorageListPage> {
    this.counts.list += 1;
    return this.inner.list(prefix, options);
  }

  dispose(): Promise<void> {
    return this.inner.dispose?.() ?? Promise.resolve();
  }

  private async *countChunks(
    stream: AsyncIterable<Uint8Array>,
    counter: 'bytesRead' | 'bytesWritten' = 'bytesRead',
  ): AsyncIterable<Uint8Array> {
    for await (const chunk of stream) {
      this.counts[counter] += chunk.byteLength;
      yield chunk;
    }
  }
}
