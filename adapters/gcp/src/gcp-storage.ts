import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type Bucket, type CreateReadStreamOptions, type File } from '@google-cloud/storage';
import { abortError, collectBytes, emptyStream, ObjectStorageBase, requestTimeouts, throwIfAborted, type ObjectListPage, type RequestSite } from '@fanout/adapter-kit';
import type { ByteRange, StorageCapabilitiesV1, StorageObjectInfo, StorageReferenceV1 } from '@fanout/spec';
import { isBucketMissing, isInvalidRange, isNotFound, isPreconditionFailed, mapGcpError } from './gcp-errors.js';

/** The module specifier another process imports to recreate a {@link GcpStorage}. */
export const GCP_ADAPTER_MODULE = '@fanout/adapter-gcp';

/** Most objects one objects.list page returns: Cloud Storage's own limit. */
export const GCS_PAGE_SIZE = 1000;

/** Largest object Cloud Storage stores: 5 TiB (cloud.google.com/storage/quotas#objects). */
export const GCS_MAX_OBJECT_BYTES = 5 * 1024 ** 4;

/**
 * Object deletes sent at once for one `delete`, in groups of this many. The JSON API deletes one
 * object per request (deletes are free of charge), so a batch here is a group of requests in
 * flight together, four groups at a time: up to 64 connections for a large `fanout clean`.
 */
const DELETE_GROUP = 16;

const DEFAULT_ENDPOINT = 'https://storage.googleapis.com';

/** What a {@link GcpStorage} is built from: the validated options, or the same by hand in code. */
export type GcpStorageSettings = {
  bucket: string;
  /** Key prefix inside the bucket, empty or ending with `/`. Default: none. */
  prefix?: string;
  /** The project, where an API asks for one. Default: Application Default Credentials'. */
  projectId?: string;
  /** The JSON API's base URL, for a test server; requests to it carry no credentials. Default: Cloud Storage. */
  endpoint?: string;
  /** See `GcpStorageOptions`. Default: 10000. */
  connectTimeoutMs?: number;
  /** See `GcpStorageOptions`. Default: 30000. */
  responseTimeoutMs?: number;
  /**
   * Retries of a failed idempotent request inside the client library. Default: 0, since core
   * retries by failure class; a worker in a cloud function would use a few, because a failed
   * write there re-runs every task of its invocation.
   */
  maxRetries?: number;
  /** A ready client, for tests; the connection settings are then ignored. */
  client?: Storage;
};

/**
 * Object storage on Google Cloud Storage, through the official client library and its JSON API.
 * Keys map to `<prefix><key>` in one bucket. Every operation is one request: no bucket lookup
 * before an object call. Conditional create is `ifGenerationMatch: 0`, which Cloud Storage
 * honours atomically (412 for the loser); listing pages are objects.list pages, the page token
 * being the cursor.
 */
export class GcpStorage extends ObjectStorageBase {
  readonly name = 'gcs';
  readonly capabilities: StorageCapabilitiesV1 = {
    conditionalCreate: true,
    listPageSize: GCS_PAGE_SIZE,
    maxObjectBytes: GCS_MAX_OBJECT_BYTES,
    streaming: true,
  };
  /** How another process (a local worker) opens this same storage. */
  readonly reference: StorageReferenceV1;
  readonly client: Storage;

  private readonly handle: Bucket;
  private readonly site: RequestSite;
  private readonly silenceMs: number;

  constructor(settings: GcpStorageSettings) {
    super({
      className: 'GcpStorage',
      label: 'Cloud Storage storage',
      bucketNoun: 'the Cloud Storage bucket',
      bucket: settings?.bucket,
      prefix: settings?.prefix,
      root: (bucket) => `gs://${bucket}/`,
      listPageSize: GCS_PAGE_SIZE,
      deleteBatchSize: DELETE_GROUP,
    });
    const timeouts = requestTimeouts(settings);
    const endpoint = settings.endpoint ?? DEFAULT_ENDPOINT;
    this.silenceMs = timeouts.responseTimeoutMs;
    this.site = { endpoint: new URL(endpoint).host, timeouts };
    this.client =
      settings.client ??
      new Storage({
        ...(settings.endpoint !== undefined ? { apiEndpoint: settings.endpoint } : {}),
        ...(settings.projectId !== undefined ? { projectId: settings.projectId } : {}),
        // The library has one timer per request, from sending it to the answer's headers; a
        // download's silence afterwards is watched here (see `chunksOf`).
        timeout: timeouts.connectTimeoutMs + timeouts.responseTimeoutMs,
        retryOptions: { autoRetry: (settings.maxRetries ?? 0) > 0, maxRetries: settings.maxRetries ?? 0 },
      });
    this.handle = this.client.bucket(this.bucket);
    this.reference = {
      module: GCP_ADAPTER_MODULE,
      options: Object.fromEntries(
        Object.entries({
          bucket: this.bucket,
          prefix: this.prefix === '' ? undefined : this.prefix,
          projectId: settings.projectId,
          endpoint: settings.endpoint,
          connectTimeoutMs: settings.connectTimeoutMs,
          responseTimeoutMs: settings.responseTimeoutMs,
        }).filter(([, value]) => value !== undefined),
      ),
    };
  }

  protected async readObject(name: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
    const stream = await this.openObject(name, range, signal);
    if (!stream) return undefined;
    const bytes = await collectBytes(stream);
    // A plain Uint8Array over the same memory, as the contract asks, not the Buffer it was collected in.
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  protected async openObject(name: string, range: ByteRange | undefined, signal: AbortSignal | undefined): Promise<AsyncIterable<Uint8Array> | undefined> {
    // Whole objects are checked against the crc32c Cloud Storage stored; ranges cannot be.
    const options: CreateReadStreamOptions = range ? { start: range.start, ...(range.end !== undefined ? { end: range.end - 1 } : {}) } : { validation: 'crc32c' };
    const stream = this.file(name).createReadStream(options);
    const chunks = this.chunksOf(stream, name, signal);
    // The request goes out when the stream is first read: the first chunk says whether it exists.
    let first: IteratorResult<Uint8Array>;
    try {
      first = await chunks.next();
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause ?? error;
      if (!signal?.aborted && isNotFound(cause) && !isBucketMissing(cause)) return undefined;
      if (!signal?.aborted && isInvalidRange(cause)) return emptyStream();
      throw error;
    }
    return (async function* () {
      if (!first.done) yield first.value;
      yield* { [Symbol.asyncIterator]: () => chunks };
    })();
  }

  protected async statObject(name: string, signal: AbortSignal | undefined): Promise<Omit<StorageObjectInfo, 'key'> | undefined> {
    try {
      const [metadata] = await this.file(name).getMetadata();
      throwIfAborted(signal);
      return { size: Number(metadata.size ?? 0), ...(metadata.updated ? { modifiedMs: Date.parse(metadata.updated) } : {}) };
    } catch (error) {
      if (!signal?.aborted && isNotFound(error) && !isBucketMissing(error)) return undefined;
      throw this.failure(error, 'objects.get', name, signal);
    }
  }

  protected async writeObject(name: string, body: Uint8Array, contentType: string, signal: AbortSignal | undefined): Promise<void> {
    await this.upload(name, body, contentType, signal, false);
  }

  protected async writeObjectStream(name: string, body: AsyncIterable<Uint8Array>, contentType: string, signal: AbortSignal | undefined): Promise<void> {
    // A resumable upload streams in one request of unknown length: memory stays at what is in flight.
    const target = this.file(name).createWriteStream({ resumable: true, contentType, metadata: { contentType }, validation: false });
    try {
      await pipeline(Readable.from(body), target, ...(signal ? [{ signal }] : []));
    } catch (error) {
      throw this.failure(error, 'objects.insert', name, signal);
    }
  }

  protected async createObject(name: string, body: Uint8Array, contentType: string, signal: AbortSignal | undefined): Promise<boolean> {
    return this.upload(name, body, contentType, signal, true);
  }

  protected async deleteObjects(names: string[], signal: AbortSignal | undefined): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        throwIfAborted(signal);
        try {
          await this.file(name).delete({ ignoreNotFound: true });
        } catch (error) {
          throw this.failure(error, 'objects.delete', name, signal);
        }
      }),
    );
  }

  protected async listObjects(namePrefix: string, limit: number, token: string | undefined, signal: AbortSignal | undefined): Promise<ObjectListPage> {
    try {
      // The page as the API sent it (the third element): with `fields`, the File objects the
      // library builds from it carry no metadata.
      const [, , response] = await this.handle.getFiles({
        prefix: namePrefix,
        maxResults: limit,
        autoPaginate: false,
        ...(token !== undefined ? { pageToken: token } : {}),
        fields: 'items(name,size,updated),nextPageToken',
      });
      throwIfAborted(signal);
      const page = (response ?? {}) as { items?: Array<{ name?: string; size?: string; updated?: string }>; nextPageToken?: string };
      const objects = (page.items ?? []).map((item) => ({
        key: item.name ?? '',
        size: Number(item.size ?? 0),
        ...(item.updated ? { modifiedMs: Date.parse(item.updated) } : {}),
      }));
      const pageToken = page.nextPageToken;
      return { objects, token: pageToken || undefined };
    } catch (error) {
      throw this.failure(error, 'objects.list', namePrefix, signal);
    }
  }

  protected close(): void {
    // The library keeps no connections of its own to release: its agents are Node's shared ones.
  }

  /** One multipart upload (metadata and bytes in one request); `onlyIfAbsent` makes it a conditional create. */
  private async upload(name: string, body: Uint8Array, contentType: string, signal: AbortSignal | undefined, onlyIfAbsent: boolean): Promise<boolean> {
    try {
      await this.file(name).save(Buffer.from(body.buffer, body.byteOffset, body.byteLength), {
        resumable: false,
        contentType,
        metadata: { contentType },
        validation: false,
        // Cloud Storage writes only if no object has the name (generation 0), atomically, and answers 412 otherwise.
        ...(onlyIfAbsent ? { preconditionOpts: { ifGenerationMatch: 0 } } : {}),
      });
      throwIfAborted(signal);
      return true;
    } catch (error) {
      if (onlyIfAbsent && !signal?.aborted && isPreconditionFailed(error)) return false;
      throw this.failure(error, 'objects.insert', name, signal);
    }
  }

  /**
   * The chunks of a download as `Uint8Array`s, its failures mapped, and a limit on silence: a
   * download that delivers nothing for `responseTimeoutMs` fails retryable, since the library's
   * own timer stops at the answer's headers. Stopping early, or an abort, gives the connection back.
   */
  private async *chunksOf(stream: Readable, name: string, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stream.destroy(Object.assign(new Error(`no data for ${this.silenceMs} ms`), { name: 'SilenceTimeout' })), this.silenceMs);
    };
    const onAbort = () => stream.destroy(abortError(signal));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      throwIfAborted(signal);
      arm();
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        arm();
        yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      }
    } catch (error) {
      throw this.failure(error, 'objects.get', name, signal);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }

  private file(name: string): File {
    return this.handle.file(name);
  }

  private failure(error: unknown, operation: string, name: string, signal: AbortSignal | undefined) {
    return mapGcpError(error, { service: 'Cloud Storage', operation, target: this.describeObject(name), signal, site: this.site });
  }
}
