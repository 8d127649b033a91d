import type {
  ByteRange,
  StorageBackendV1,
  StorageBody,
  StorageCapabilitiesV1,
  StorageGetOptions,
  StorageListOptions,
  StorageListPage,
  StorageObjectInfo,
  StorageOperationOptions,
  StoragePutOptions,
  StorageReferenceV1,
} from '@fanout/spec';
import { throwIfAborted } from './abort.js';
import { deleteInBatches } from './batched-delete.js';
import { disposedError } from './disposed.js';
import { decodeTokenCursor, encodeTokenCursor } from './list-cursors.js';
import { assertByteRange, listPageLimit } from './storage-arguments.js';
import { assertValidStorageKey } from './storage-keys.js';

/** Where a cloud object store keeps fanout's objects, and how its errors name them. */
export type ObjectStoreLocation = {
  /** The class, as its argument errors name it: `AwsStorage`. */
  className: string;
  /** What the storage is, as the error after `dispose()` says it: `S3 storage`. */
  label: string;
  /** The bucket or container, for the error when it is missing: `the S3 bucket`. */
  bucketNoun: string;
  bucket: unknown;
  /** Key prefix inside the bucket, empty or ending with `/`. Default: none. */
  prefix?: unknown;
  /** How the store's own tools write the bucket's address before an object name: `s3://my-bucket/`. */
  root: (bucket: string) => string;
  /** Most objects one listing request returns (S3's ListObjectsV2: 1000): the page size when the caller sets no limit. */
  listPageSize: number;
  /** Most keys one delete request takes (S3's DeleteObjects: 1000). */
  deleteBatchSize: number;
  /** Delete requests in flight at once for one large `delete`. Default: 4. */
  deleteConcurrency?: number;
};

/** One page of a store's listing, with full object names; `token` resumes it, absent on the last page. */
export type ObjectListPage = { objects: StorageObjectInfo[]; token?: string | undefined };

const DEFAULT_DELETE_CONCURRENCY = 4;

/**
 * The part of a storage backend that every cloud object store (S3, Cloud Storage, Blob Storage)
 * shares: objects live in one bucket under a key prefix; arguments are checked the same way
 * (the contract in `@fanout/spec`'s storage.ts) before any request is made; an empty byte range
 * costs a metadata request only; deletes go in batches of the store's size, a few at a time;
 * listing cursors carry the prefix they page through, so a cursor from another listing is a
 * `TypeError` instead of a wrong page; and nothing works after `dispose()`.
 *
 * A subclass makes one request per primitive, with the object's full name (`prefix + key`),
 * and maps its SDK's failures itself ({@link describeObject} names the object for messages).
 * What a missing object is (`undefined`, `false`) is the primitive's to say: each SDK says it
 * differently.
 */
export abstract class ObjectStorageBase implements StorageBackendV1 {
  readonly specificationVersion = 'v1';
  abstract readonly name: string;
  abstract readonly capabilities: StorageCapabilitiesV1;
  abstract readonly reference: StorageReferenceV1;
  readonly bucket: string;
  readonly prefix: string;

  private readonly className: string;
  private readonly label: string;
  private readonly root: string;
  private readonly listPageSize: number;
  private readonly deleteBatchSize: number;
  private readonly deleteConcurrency: number;
  private disposed = false;

  constructor(location: ObjectStoreLocation) {
    const { className, bucket, prefix = '' } = location;
    if (typeof bucket !== 'string' || bucket === '') {
      throw new TypeError(`${className} needs settings.bucket, ${location.bucketNoun} to keep objects in.`);
    }
    if (typeof prefix !== 'string' || (prefix !== '' && !prefix.endsWith('/'))) {
      throw new TypeError(`${className} settings.prefix must be empty or end with "/", got ${JSON.stringify(prefix)}.`);
    }
    this.className = className;
    this.label = location.label;
    this.bucket = bucket;
    this.prefix = prefix;
    this.root = location.root(bucket);
    this.listPageSize = location.listPageSize;
    this.deleteBatchSize = location.deleteBatchSize;
    this.deleteConcurrency = location.deleteConcurrency ?? DEFAULT_DELETE_CONCURRENCY;
  }

  async get(key: string, options: StorageGetOptions = {}): Promise<Uint8Array | undefined> {
    const { signal, range } = options;
    this.prepare(key, signal, range);
    // No store can express an empty range; the answer is empty bytes if the object exists.
    if (isEmptyRange(range)) return (await this.statObject(this.prefix + key, signal)) ? new Uint8Array(0) : undefined;
    return this.readObject(this.prefix + key, range, signal);
  }

  async getStream(key: string, options: StorageGetOptions = {}): Promise<AsyncIterable<Uint8Array> | undefined> {
    const { signal, range } = options;
    this.prepare(key, signal, range);
    if (isEmptyRange(range)) return (await this.statObject(this.prefix + key, signal)) ? emptyStream() : undefined;
    return this.openObject(this.prefix + key, range, signal);
  }

  async head(key: string, options: StorageOperationOptions = {}): Promise<StorageObjectInfo | undefined> {
    this.prepare(key, options.signal);
    const info = await this.statObject(this.prefix + key, options.signal);
    return info && { ...info, key };
  }

  async put(key: string, body: StorageBody, options: StoragePutOptions = {}): Promise<void> {
    const { signal, contentType = 'application/octet-stream' } = options;
    this.prepare(key, signal);
    if (body instanceof Uint8Array) await this.writeObject(this.prefix + key, body, contentType, signal);
    else await this.writeObjectStream(this.prefix + key, body, contentType, signal);
  }

  async create(key: string, body: Uint8Array, options: StoragePutOptions = {}): Promise<boolean> {
    const { signal, contentType = 'application/octet-stream' } = options;
    this.prepare(key, signal);
    return this.createObject(this.prefix + key, body, contentType, signal);
  }

  async delete(keys: readonly string[], options: StorageOperationOptions = {}): Promise<void> {
    const { signal } = options;
    this.assertUsable();
    await deleteInBatches(keys, { batchSize: this.deleteBatchSize, concurrency: this.deleteConcurrency, signal }, (batch) =>
      this.deleteObjects(
        batch.map((key) => this.prefix + key),
        signal,
      ),
    );
  }

  async list(prefix: string, options: StorageListOptions = {}): Promise<StorageListPage> {
    const { signal, cursor } = options;
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(prefix, true);
    const limit = listPageLimit(options.limit, this.listPageSize);
    const token = cursor === undefined ? undefined : decodeTokenCursor(cursor, prefix, this.className);
    const page = await this.listObjects(this.prefix + prefix, limit, token, signal);
    const objects = page.objects.map((object) => ({ ...object, key: object.key.slice(this.prefix.length) }));
    return page.token ? { objects, cursor: encodeTokenCursor(page.token, prefix) } : { objects };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.close();
  }

  /** An object's address as the store's own tools write it, for messages: `s3://bucket/prefix/key`. */
  protected describeObject(name: string): string {
    return this.root + name;
  }

  /** The object's bytes (in `range`, never empty), or `undefined` if it does not exist; a range past the end is empty bytes. */
  protected abstract readObject(name: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<Uint8Array | undefined>;
  /** The same as a stream, which gives its connection back when the caller stops early. */
  protected abstract openObject(name: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<AsyncIterable<Uint8Array> | undefined>;
  /** Size and modification time, or `undefined` if the object does not exist. The key is filled in by the caller. */
  protected abstract statObject(name: string, signal: AbortSignal | undefined): Promise<Omit<StorageObjectInfo, 'key'> | undefined>;
  protected abstract writeObject(name: string, body: Uint8Array, contentType: string, signal: AbortSignal | undefined): Promise<void>;
  /** A body of unknown length, in constant memory (the store's multipart or resumable upload). */
  protected abstract writeObjectStream(name: string, body: AsyncIterable<Uint8Array>, contentType: string, signal: AbortSignal | undefined): Promise<void>;
  /** Write only if no object has the name, atomically where the store can; `false` when one has. */
  protected abstract createObject(name: string, body: Uint8Array, contentType: string, signal: AbortSignal | undefined): Promise<boolean>;
  /** Delete one batch of at most `deleteBatchSize` distinct names; an absent one is not a failure. */
  protected abstract deleteObjects(names: string[], signal: AbortSignal | undefined): Promise<void>;
  /** One page of at most `limit` objects whose names start with `namePrefix`, in name order, resuming at `token`. */
  protected abstract listObjects(namePrefix: string, limit: number, token: string | undefined, signal: AbortSignal | undefined): Promise<ObjectListPage>;
  /** Release the client, if this storage made it. */
  protected abstract close(): Promise<void> | void;

  private prepare(key: string, signal: AbortSignal | undefined, range?: ByteRange): void {
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(key);
    if (range) assertByteRange(range);
  }

  private assertUsable(): void {
    if (this.disposed) throw disposedError(this.label);
  }
}

function isEmptyRange(range: ByteRange | undefined): boolean {
  return range?.end !== undefined && range.end <= range.start;
}


/** A stream of nothing: an existing empty object, or a range past its end. */
export async function* emptyStream(): AsyncGenerator<Uint8Array> {
  // Nothing to yield.
}
