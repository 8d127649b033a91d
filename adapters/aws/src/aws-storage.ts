import { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { assertByteRange, assertValidStorageKey, listPageLimit, throwIfAborted } from '@fanout/adapter-kit';
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
import { clientConfig, recordRequestSites, requestSiteOf, requestTimeouts } from './aws-clients.js';
import {
  awsErrorName,
  disposedError,
  isConditionalWriteLost,
  isInvalidRange,
  isNotFound,
  mapAwsError,
} from './aws-errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, type AwsConnectionOptions } from './aws-options.js';
import { S3_PRICES } from './aws-prices.js';

/** The module specifier another process imports to recreate an {@link AwsStorage}. */
export const AWS_ADAPTER_MODULE = '@fanout/adapter-aws';

/** Most keys one ListObjectsV2 page, and one DeleteObjects call, handle: S3's own limit. */
export const S3_PAGE_SIZE = 1000;

/** Largest object S3 stores (5 TiB, through multipart upload). */
export const S3_MAX_OBJECT_BYTES = 5 * 1024 ** 4;

/** Part size of streamed uploads: 8 MiB parts reach S3's 10,000-part limit only past 78 GiB. */
export const MULTIPART_PART_BYTES = 8 * 1024 * 1024;

/**
 * Parts uploaded at once by one streamed `put`. The client holds these parts plus the one being
 * filled: with two, a streamed put stays near 24 MiB whatever the object's size.
 */
const MULTIPART_QUEUE_SIZE = 2;

/** DeleteObjects calls in flight at once for one large `delete`. */
const DELETE_CONCURRENCY = 4;

/** Sockets the storage's client opens at most: the worker makes a few requests, a client many. */
const DEFAULT_MAX_SOCKETS = 256;

/** What an {@link AwsStorage} is built from: the validated options, or the same by hand in code. */
export type AwsStorageSettings = AwsConnectionOptions & {
  bucket: string;
  /** Key prefix inside the bucket, empty or ending with `/`. Default: none. */
  prefix?: string;
  /** Path-style addressing, for S3-compatible stores. Default: `false`. */
  forcePathStyle?: boolean;
  /** Most connections open at once. Default: 256. */
  maxSockets?: number;
  /**
   * Attempts per request, SDK retries included. Default: 1, since core retries by failure class;
   * the Lambda runtime uses 3, because a failed write there would re-run every task of the
   * invocation.
   */
  maxAttempts?: number;
  /** A ready client, for tests or custom middleware; the connection settings are then ignored. */
  client?: S3Client;
};

/**
 * Object storage on Amazon S3 (or an S3-compatible store). Keys map to `<prefix><key>` in one
 * bucket. Conditional create uses `If-None-Match: *`, which S3 honours atomically; listing
 * pages are ListObjectsV2 pages, the continuation token being the cursor.
 */
export class AwsStorage implements StorageBackendV1 {
  readonly specificationVersion = 'v1';
  readonly name = 's3';
  readonly capabilities: StorageCapabilitiesV1 = {
    conditionalCreate: true,
    listPageSize: S3_PAGE_SIZE,
    maxObjectBytes: S3_MAX_OBJECT_BYTES,
    streaming: true,
    // S3 Standard's list prices, also behind a custom endpoint: see aws-prices.ts.
    prices: S3_PRICES,
  };
  readonly bucket: string;
  readonly prefix: string;
  /** How another process (a local worker) opens this same storage. Holds the credentials option if one was given. */
  readonly reference: StorageReferenceV1;
  readonly client: S3Client;

  private readonly ownsClient: boolean;
  private disposed = false;

  constructor(settings: AwsStorageSettings) {
    if (typeof settings?.bucket !== 'string' || settings.bucket === '') {
      throw new TypeError('AwsStorage needs settings.bucket, the S3 bucket to keep objects in.');
    }
    const prefix = settings.prefix ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) {
      throw new TypeError(`AwsStorage settings.prefix must be empty or end with "/", got ${JSON.stringify(prefix)}.`);
    }
    this.bucket = settings.bucket;
    this.prefix = prefix;
    const connection = {
      region: settings.region,
      endpoint: settings.endpoint,
      profile: settings.profile,
      credentials: settings.credentials,
    };
    // Every request is bounded, in the Lambda runtime too (it builds its storage with the defaults).
    const timeouts = requestTimeouts(settings);
    this.ownsClient = settings.client === undefined;
    if (settings.client) {
      this.client = settings.client;
    } else {
      this.client = new S3Client({
        ...clientConfig(connection, settings.maxSockets ?? DEFAULT_MAX_SOCKETS, timeouts),
        ...(settings.maxAttempts !== undefined ? { maxAttempts: settings.maxAttempts } : {}),
        forcePathStyle: settings.forcePathStyle ?? false,
        // Checksums only where S3 requires them: S3-compatible stores mishandle the default
        // streaming checksums, and fanout verifies code bundles by SHA-256 itself.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      recordRequestSites(this.client, timeouts);
    }
    this.reference = {
      module: AWS_ADAPTER_MODULE,
      options: definedOnly({
        bucket: this.bucket,
        prefix: this.prefix === '' ? undefined : this.prefix,
        forcePathStyle: settings.forcePathStyle,
        ...connection,
        // Only timeouts that differ from the defaults, so that the reference reads as the options that were set.
        connectTimeoutMs: timeouts.connectTimeoutMs === DEFAULT_CONNECT_TIMEOUT_MS ? undefined : timeouts.connectTimeoutMs,
        responseTimeoutMs: timeouts.responseTimeoutMs === DEFAULT_RESPONSE_TIMEOUT_MS ? undefined : timeouts.responseTimeoutMs,
      }),
    };
  }

  async get(key: string, options: StorageGetOptions = {}): Promise<Uint8Array | undefined> {
    const { signal, range } = options;
    this.prepare(key, signal);
    if (range) assertByteRange(range);
    // S3 cannot express an empty range; the answer is empty bytes if the object exists.
    if (range?.end !== undefined && range.end <= range.start) {
      return (await this.head(key, { ...(signal ? { signal } : {}) })) ? new Uint8Array(0) : undefined;
    }
    let body;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, ...(range ? { Range: rangeHeader(range) } : {}) }),
        { abortSignal: signal },
      );
      body = response.Body;
    } catch (error) {
      return this.missingOrThrow(error, 'GetObject', key, signal, () => (isInvalidRange(error) ? new Uint8Array(0) : undefined));
    }
    if (!body) return new Uint8Array(0);
    try {
      return await body.transformToByteArray();
    } catch (error) {
      // The answer began and then broke or went silent: the request's middleware saw its start only.
      throw mapAwsError(error, { service: 'S3', operation: 'GetObject', target: this.describe(key), signal, site: requestSiteOf(body) });
    }
  }

  async getStream(key: string, options: StorageGetOptions = {}): Promise<AsyncIterable<Uint8Array> | undefined> {
    const { signal, range } = options;
    this.prepare(key, signal);
    if (range) assertByteRange(range);
    if (range?.end !== undefined && range.end <= range.start) {
      return (await this.head(key, { ...(signal ? { signal } : {}) })) ? emptyStream() : undefined;
    }
    let body: Readable;
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, ...(range ? { Range: rangeHeader(range) } : {}) }),
        { abortSignal: signal },
      );
      if (!response.Body) return emptyStream();
      body = response.Body as Readable;
    } catch (error) {
      return this.missingOrThrow(error, 'GetObject', key, signal, () => (isInvalidRange(error) ? emptyStream() : undefined));
    }
    return this.mapStreamErrors(body, key, signal);
  }

  async head(key: string, options: StorageOperationOptions = {}): Promise<StorageObjectInfo | undefined> {
    const { signal } = options;
    this.prepare(key, signal);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), { abortSignal: signal });
      return {
        key,
        size: response.ContentLength ?? 0,
        ...(response.LastModified ? { modifiedMs: response.LastModified.getTime() } : {}),
      };
    } catch (error) {
      return this.missingOrThrow(error, 'HeadObject', key, signal, () => undefined);
    }
  }

  async put(key: string, body: StorageBody, options: StoragePutOptions = {}): Promise<void> {
    const { signal, contentType = 'application/octet-stream' } = options;
    this.prepare(key, signal);
    try {
      if (body instanceof Uint8Array) {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Body: body, ContentLength: body.byteLength, ContentType: contentType }),
          { abortSignal: signal },
        );
        return;
      }
      // Multipart for streams of unknown length: memory stays at a few parts whatever the size.
      const upload = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.prefix + key, Body: Readable.from(body), ContentType: contentType },
        partSize: MULTIPART_PART_BYTES,
        queueSize: MULTIPART_QUEUE_SIZE,
        leavePartsOnError: false,
      });
      const onAbort = () => void upload.abort().catch(() => undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        await upload.done();
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'PutObject', target: this.describe(key), signal });
    }
  }

  async create(key: string, body: Uint8Array, options: StoragePutOptions = {}): Promise<boolean> {
    const { signal, contentType = 'application/octet-stream' } = options;
    this.prepare(key, signal);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: contentType,
          // S3 writes only if no object has the key, atomically, and answers 412 otherwise.
          IfNoneMatch: '*',
        }),
        { abortSignal: signal },
      );
      return true;
    } catch (error) {
      if (!signal?.aborted && isConditionalWriteLost(error)) return false;
      throw mapAwsError(error, { service: 'S3', operation: 'PutObject', target: this.describe(key), signal });
    }
  }

  async delete(keys: readonly string[], options: StorageOperationOptions = {}): Promise<void> {
    const { signal } = options;
    this.assertUsable();
    throwIfAborted(signal);
    // Refuse the whole batch before touching anything if one key is unsafe.
    for (const key of keys) assertValidStorageKey(key);
    const unique = [...new Set(keys)];
    const batches: string[][] = [];
    for (let start = 0; start < unique.length; start += S3_PAGE_SIZE) batches.push(unique.slice(start, start + S3_PAGE_SIZE));
    const deleteNext = async (): Promise<void> => {
      for (let batch = batches.pop(); batch !== undefined; batch = batches.pop()) {
        throwIfAborted(signal);
        await this.deleteBatch(batch, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, batches.length) }, deleteNext));
  }

  async list(prefix: string, options: StorageListOptions = {}): Promise<StorageListPage> {
    const { signal, cursor } = options;
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(prefix, true);
    const limit = listPageLimit(options.limit, S3_PAGE_SIZE);
    const continuationToken = cursor === undefined ? undefined : readCursor(cursor, prefix);
    try {
      const response = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + prefix,
          MaxKeys: limit,
          ...(continuationToken !== undefined ? { ContinuationToken: continuationToken } : {}),
        }),
        { abortSignal: signal },
      );
      const objects: StorageObjectInfo[] = (response.Contents ?? []).map((entry) => ({
        key: (entry.Key ?? '').slice(this.prefix.length),
        size: entry.Size ?? 0,
        ...(entry.LastModified ? { modifiedMs: entry.LastModified.getTime() } : {}),
      }));
      return response.IsTruncated && response.NextContinuationToken
        ? { objects, cursor: writeCursor(response.NextContinuationToken, prefix) }
        : { objects };
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'ListObjectsV2', target: this.describe(prefix), signal });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsClient) this.client.destroy();
  }

  private async deleteBatch(keys: string[], signal: AbortSignal | undefined): Promise<void> {
    let response;
    try {
      response = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((key) => ({ Key: this.prefix + key })), Quiet: true },
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'DeleteObjects', target: `${keys.length} keys in s3://${this.bucket}/${this.prefix}`, signal });
    }
    // DeleteObjects answers 200 and lists the keys it could not delete; an absent key is not one of them.
    const failed = (response.Errors ?? []).filter((entry) => entry.Code !== 'NoSuchKey');
    const first = failed[0];
    if (first) {
      const cause = Object.assign(new Error(first.Message ?? 'delete failed'), { name: first.Code ?? 'Error', Code: first.Code });
      const error = mapAwsError(cause, { service: 'S3', operation: 'DeleteObjects', target: `s3://${this.bucket}/${first.Key ?? ''} and ${failed.length - 1} more`, signal });
      throw error;
    }
  }

  private prepare(key: string, signal: AbortSignal | undefined): void {
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(key);
  }

  private assertUsable(): void {
    if (this.disposed) throw disposedError('S3 storage');
  }

  /** A missing object is an answer, not an error; a missing bucket is a configuration error. */
  private missingOrThrow<T>(error: unknown, operation: string, key: string, signal: AbortSignal | undefined, absent: () => T): T {
    if (!signal?.aborted && awsErrorName(error) !== 'NoSuchBucket' && (isNotFound(error) || isInvalidRange(error))) return absent();
    throw mapAwsError(error, { service: 'S3', operation, target: this.describe(key), signal });
  }

  private async *mapStreamErrors(body: Readable, key: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'GetObject', target: this.describe(key), signal, site: requestSiteOf(body) });
    } finally {
      // Stopping early must give the connection back.
      body.destroy();
    }
  }

  private describe(key: string): string {
    return `s3://${this.bucket}/${this.prefix}${key}`;
  }
}

function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}`;
}

async function* emptyStream(): AsyncGenerator<Uint8Array> {
  // An existing empty object, or a range past its end: nothing to yield.
}

function definedOnly(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined));
}


/**
 * Cursors name the prefix they page through as well as S3's continuation token, so a cursor this
 * backend did not return for this prefix is refused with a `TypeError` (the contract), instead
 * of reaching S3 as an invalid token or, on some S3-compatible stores, an empty page.
 */
function writeCursor(token: string, prefix: string): string {
  return Buffer.from(JSON.stringify({ prefix, token })).toString('base64url');
}

function readCursor(cursor: string, prefix: string): string {
  let decoded: { prefix?: unknown; token?: unknown } | undefined;
  try {
    decoded = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    decoded = undefined;
  }
  if (decoded?.prefix !== prefix || typeof decoded.token !== 'string' || decoded.token === '') {
    throw new TypeError(`${JSON.stringify(cursor)} is not a cursor AwsStorage.list returned for the prefix ${JSON.stringify(prefix)}.`);
  }
  return decoded.token;
}
