import type { StorageReferenceV1 } from './plugin.js';

/**
 * The storage contract. Object storage carries a job's code bundle, its inputs and its result
 * records, so every compute backend is paired with one storage backend (they may come from
 * different adapters, for example Lambda compute with a local folder in tests).
 *
 * Keys are `/`-separated relative paths made of printable characters. A backend must refuse an
 * unsafe key (empty, leading `/`, a `.` or `..` segment, a backslash, a control character) with
 * `STORAGE_KEY_INVALID` before touching the store; `@fanout/adapter-kit` exports the check.
 */

/** Options every storage operation accepts. */
export type StorageOperationOptions = {
  /** Abort the operation; the promise then rejects with an `ABORTED` error. */
  signal?: AbortSignal;
};

/** A byte range `[start, end)`; `end` omitted means "to the end of the object". */
export type ByteRange = {
  /** First byte, zero based, inclusive. */
  start: number;
  /** One past the last byte. Past the object's end it is clamped to the end. */
  end?: number;
};

export type StorageGetOptions = StorageOperationOptions & {
  /** Read only these bytes. A start at or past the end returns an empty array. */
  range?: ByteRange;
};

export type StoragePutOptions = StorageOperationOptions & {
  /** MIME type recorded with the object where the store supports it. Default: `application/octet-stream`. */
  contentType?: string;
};

export type StorageListOptions = StorageOperationOptions & {
  /** Opaque cursor from a previous page's {@link StorageListPage.cursor}. */
  cursor?: string;
  /** Largest page wanted. The backend may return fewer. Default: its `capabilities.listPageSize`. */
  limit?: number;
};

/** One object in a listing. */
export type StorageObjectInfo = {
  /** The full key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** Last modification time in milliseconds since the epoch, where the store reports it. */
  modifiedMs?: number;
};

/** One page of a listing, in ascending key order (UTF-8 byte order). */
export type StorageListPage = {
  objects: StorageObjectInfo[];
  /** Present when more objects follow; pass it back as {@link StorageListOptions.cursor}. */
  cursor?: string;
};

/**
 * What a storage backend declares about itself. Core and the conformance suite read these; a
 * capability that is absent takes the documented default, so adding one never breaks an old
 * adapter.
 */
export type StorageCapabilitiesV1 = {
  /**
   * `create` is atomic: of two concurrent creates of one key exactly one returns `true`.
   * Default: `false` (core then falls back to `put`, which makes duplicate result records
   * last-writer-wins instead of first-writer-wins; still harmless, since records of one task
   * range are interchangeable).
   */
  conditionalCreate?: boolean;
  /** Most keys one `list` page returns. Default: 1000. */
  listPageSize?: number;
  /** Largest object `put` accepts, in bytes. Default: `Number.MAX_SAFE_INTEGER`. */
  maxObjectBytes?: number;
  /** Whether `getStream` and streamed `put` keep client memory bounded. Default: `false`. */
  streaming?: boolean;
  /**
   * What the store charges per request and per byte leaving it, for cost estimates and reports.
   * Default: `undefined` (unknown). A store that costs nothing declares zeros.
   */
  prices?: StoragePricesV1;
};

/**
 * A storage platform's list prices, in US dollars, free tiers ignored; adapters cite the price
 * page and the date beside the numbers. Absent fields are 0. Stored bytes are not priced: a
 * job's objects live for as long as the user keeps them (`fanout clean`).
 */
export type StoragePricesV1 = {
  /** Per write-class request: put, create, list, delete (S3's PUT, COPY, POST, LIST tier). */
  perWriteUsd?: number;
  /** Per read-class request: get, ranged get, head. */
  perReadUsd?: number;
  /** Per GB read from outside the platform (by the client, or by another cloud's workers). */
  egressPerGbUsd?: number;
};

/** A body for `put`: bytes, or a stream of chunks (Node streams and web streams both qualify). */
export type StorageBody = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * Version 1 of the storage contract.
 *
 * Every method may reject with a `FanoutError`; transient platform failures (a 5xx, a reset
 * connection, a request that timed out) must use `BACKEND_UNAVAILABLE` with `retryable: true`, throttling `THROTTLED`, missing permissions
 * `ACCESS_DENIED`. A missing key is not an error for `get`, `getStream`, `head` or `delete`.
 */
export interface StorageBackendV1 {
  /** Literal contract version; core refuses backends that declare another. */
  readonly specificationVersion: 'v1';
  /** Short name for logs and reports, such as `local` or `s3`. */
  readonly name: string;
  readonly capabilities: StorageCapabilitiesV1;

  /**
   * The object's bytes (or the requested range of them), or `undefined` if the key is absent.
   * Return a plain `Uint8Array` (not a `Buffer` or another subclass), so callers see one type
   * from every backend.
   */
  get(key: string, options?: StorageGetOptions): Promise<Uint8Array | undefined>;

  /** Stream an object without holding it in memory; `undefined` if absent. Optional. */
  getStream?(key: string, options?: StorageGetOptions): Promise<AsyncIterable<Uint8Array> | undefined>;

  /** Size and modification time of an object, or `undefined` if absent. */
  head(key: string, options?: StorageOperationOptions): Promise<StorageObjectInfo | undefined>;

  /**
   * Write an object, replacing any previous one. Readers see the old or the new bytes, never a
   * mix. A body larger than `capabilities.maxObjectBytes` is refused with `PAYLOAD_TOO_LARGE`.
   */
  put(key: string, body: StorageBody, options?: StoragePutOptions): Promise<void>;

  /**
   * Write an object only if the key is absent. Resolves `true` if this call created it and
   * `false` if the key already existed (the existing object is left untouched). Optional; declare
   * `capabilities.conditionalCreate` when it is atomic.
   */
  create?(key: string, body: Uint8Array, options?: StoragePutOptions): Promise<boolean>;

  /** Delete objects. Absent keys are ignored. */
  delete(keys: readonly string[], options?: StorageOperationOptions): Promise<void>;

  /**
   * One page of the objects whose keys start with `prefix`, in ascending key order. A `cursor`
   * that this backend did not return for the same prefix, or a `limit` below 1, is a programming
   * mistake and throws `TypeError`.
   */
  list(prefix: string, options?: StorageListOptions): Promise<StorageListPage>;

  /**
   * How to open this same storage from another process (used by compute backends whose workers
   * run on this machine). Optional: cloud runtimes get their storage from their deployment.
   */
  readonly reference?: StorageReferenceV1;

  /** Release connections and handles. Further calls reject with `DISPOSED`. Optional. */
  dispose?(): Promise<void>;
}
