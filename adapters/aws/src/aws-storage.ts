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
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, emptyStream, ObjectStorageBase, requestTimeouts, type ObjectListPage } from '@fanout/adapter-kit';
import type { ByteRange, StorageCapabilitiesV1, StorageObjectInfo, StorageReferenceV1 } from '@fanout/spec';
import { clientConfig, recordRequestSites, requestSiteOf } from './aws-clients.js';
import { awsErrorName, isConditionalWriteLost, isInvalidRange, isNotFound, mapAwsError } from './aws-errors.js';
import type { AwsConnectionOptions } from './aws-options.js';
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
export class AwsStorage extends ObjectStorageBase {
  readonly name = 's3';
  readonly capabilities: StorageCapabilitiesV1 = {
    conditionalCreate: true,
    listPageSize: S3_PAGE_SIZE,
    maxObjectBytes: S3_MAX_OBJECT_BYTES,
    streaming: true,
    // S3 Standard's list prices, also behind a custom endpoint: see aws-prices.ts.
    prices: S3_PRICES,
  };
  /** How another process (a local worker) opens this same storage. Holds the credentials option if one was given. */
  readonly reference: StorageReferenceV1;
  readonly client: S3Client;

  private readonly ownsClient: boolean;

  constructor(settings: AwsStorageSettings) {
    super({
      className: 'AwsStorage',
      label: 'S3 storage',
      bucketNoun: 'the S3 bucket',
      bucket: settings?.bucket,
      prefix: settings?.prefix,
      root: (bucket) => `s3://${bucket}/`,
      listPageSize: S3_PAGE_SIZE,
      deleteBatchSize: S3_PAGE_SIZE,
    });
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

  protected async readObject(name: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    let body;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name, ...(range ? { Range: rangeHeader(range) } : {}) }), {
        abortSignal: signal,
      });
      body = response.Body;
    } catch (error) {
      return this.missingOrThrow(error, 'GetObject', name, signal, () => (isInvalidRange(error) ? new Uint8Array(0) : undefined));
    }
    if (!body) return new Uint8Array(0);
    try {
      return await body.transformToByteArray();
    } catch (error) {
      // The answer began and then broke or went silent: the request's middleware saw its start only.
      throw mapAwsError(error, { service: 'S3', operation: 'GetObject', target: this.describeObject(name), signal, site: requestSiteOf(body) });
    }
  }

  protected async openObject(name: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<AsyncIterable<Uint8Array> | undefined> {
    let body: Readable;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: name, ...(range ? { Range: rangeHeader(range) } : {}) }), {
        abortSignal: signal,
      });
      if (!response.Body) return emptyStream();
      body = response.Body as Readable;
    } catch (error) {
      return this.missingOrThrow(error, 'GetObject', name, signal, () => (isInvalidRange(error) ? emptyStream() : undefined));
    }
    return this.mapStreamErrors(body, name, signal);
  }

  protected async statObject(name: string, signal: AbortSignal | undefined): Promise<Omit<StorageObjectInfo, 'key'> | undefined> {
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: name }), { abortSignal: signal });
      return { size: response.ContentLength ?? 0, ...(response.LastModified ? { modifiedMs: response.LastModified.getTime() } : {}) };
    } catch (error) {
      return this.missingOrThrow(error, 'HeadObject', name, signal, () => undefined);
    }
  }

  protected async writeObject(name: string, body: Uint8Array, contentType: string, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: name, Body: body, ContentLength: body.byteLength, ContentType: contentType }), {
        abortSignal: signal,
      });
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'PutObject', target: this.describeObject(name), signal });
    }
  }

  protected async writeObjectStream(name: string, body: AsyncIterable<Uint8Array>, contentType: string, signal: AbortSignal | undefined): Promise<void> {
    // Multipart for streams of unknown length: memory stays at a few parts whatever the size.
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: name, Body: Readable.from(body), ContentType: contentType },
      partSize: MULTIPART_PART_BYTES,
      queueSize: MULTIPART_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'PutObject', target: this.describeObject(name), signal });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  protected async createObject(name: string, body: Uint8Array, contentType: string, signal: AbortSignal | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: name,
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
      throw mapAwsError(error, { service: 'S3', operation: 'PutObject', target: this.describeObject(name), signal });
    }
  }

  protected async deleteObjects(names: string[], signal: AbortSignal | undefined): Promise<void> {
    let response;
    try {
      response = await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: names.map((name) => ({ Key: name })), Quiet: true } }), {
        abortSignal: signal,
      });
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'DeleteObjects', target: `${names.length} keys in s3://${this.bucket}/${this.prefix}`, signal });
    }
    // DeleteObjects answers 200 and lists the keys it could not delete; an absent key is not one of them.
    const failed = (response.Errors ?? []).filter((entry) => entry.Code !== 'NoSuchKey');
    const first = failed[0];
    if (first) {
      const cause = Object.assign(new Error(first.Message ?? 'delete failed'), { name: first.Code ?? 'Error', Code: first.Code });
      throw mapAwsError(cause, { service: 'S3', operation: 'DeleteObjects', target: `${this.describeObject(first.Key ?? '')} and ${failed.length - 1} more`, signal });
    }
  }

  protected async listObjects(namePrefix: string, limit: number, token: string | undefined, signal: AbortSignal | undefined): Promise<ObjectListPage> {
    try {
      const response = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: namePrefix, MaxKeys: limit, ...(token !== undefined ? { ContinuationToken: token } : {}) }),
        { abortSignal: signal },
      );
      const objects: StorageObjectInfo[] = (response.Contents ?? []).map((entry) => ({
        key: entry.Key ?? '',
        size: entry.Size ?? 0,
        ...(entry.LastModified ? { modifiedMs: entry.LastModified.getTime() } : {}),
      }));
      return { objects, token: response.IsTruncated ? response.NextContinuationToken : undefined };
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'ListObjectsV2', target: this.describeObject(namePrefix), signal });
    }
  }

  protected close(): void {
    if (this.ownsClient) this.client.destroy();
  }

  /** A missing object is an answer, not an error; a missing bucket is a configuration error. */
  private missingOrThrow<T>(error: unknown, operation: string, name: string, signal: AbortSignal | undefined, absent: () => T): T {
    if (!signal?.aborted && awsErrorName(error) !== 'NoSuchBucket' && (isNotFound(error) || isInvalidRange(error))) return absent();
    throw mapAwsError(error, { service: 'S3', operation, target: this.describeObject(name), signal });
  }

  private async *mapStreamErrors(body: Readable, name: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    } catch (error) {
      throw mapAwsError(error, { service: 'S3', operation: 'GetObject', target: this.describeObject(name), signal, site: requestSiteOf(body) });
    } finally {
      // Stopping early must give the connection back.
      body.destroy();
    }
  }
}

function rangeHeader(range: ByteRange): string {
  return `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}`;
}

function definedOnly(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined));
}

