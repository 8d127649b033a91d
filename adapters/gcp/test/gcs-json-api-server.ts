/**
 * A fake of the Google Cloud Storage JSON API (v1) for the GCS adapter's tests: an HTTP server on
 * 127.0.0.1 that the real `@google-cloud/storage` client talks to over a socket, so the client's URL
 * building, upload protocols, retries and download validation all run as they do against Google.
 * State lives in memory. Contract: https://cloud.google.com/storage/docs/json_api/v1 and the client's
 * own source (7.22.0: build/cjs/src/file.js, bucket.js, resumable-upload.js, nodejs-common/).
 *
 * Client options, checked in that source:
 *   new Storage({ apiEndpoint: server.url, projectId: 'test-project' })
 * - A custom `apiEndpoint` makes the client a "custom endpoint" client. Unless `useAuthWithCustomEndpoint`
 *   is true, JSON API requests skip google-auth-library (nodejs-common/util.js, `authorizeRequest`), and the
 *   resumable uploader replaces its auth client with plain gaxios because 127.0.0.1 is not a Google
 *   universe domain (resumable-upload.js constructor). So leave `useAuthWithCustomEndpoint` unset.
 * - Pass `projectId`. Without it, a request that carries the `{{projectId}}` token (bucket creation's
 *   `?project=`) makes the client ask google-auth-library for the project, which reads credential files
 *   and then probes the GCE metadata server.
 * - Leave `STORAGE_EMULATOR_HOST` unset: when it is set, it replaces the JSON API base URL.
 * - `retryOptions: { maxRetries: 0 }` does nothing (0 is falsy, so the default of 3 applies). To turn
 *   retries off, use `retryOptions: { autoRetry: false }`.
 *
 * Where GCS's behaviour is undocumented, this fake makes these choices:
 * - Resumable uploads check their preconditions when the upload completes, not when the session starts
 *   (Google's storage-testbench does the same). A 412 therefore reaches the client from the final PUT.
 * - A Range request on an empty object answers 416, as GCS does for `bytes=0-`
 *   (googleapis/google-cloud-go#242). Suffix ranges on an empty object answer 416 too.
 * - `ifGenerationNotMatch` and both metageneration conditions fail when no live object exists. A failed
 *   *NotMatch condition on a read answers 304, as HTTP's If-None-Match does. 412 errors name `If-Match`
 *   (Match conditions) or `If-None-Match` (NotMatch conditions) as their location.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CRC32C } from '@google-cloud/storage';

/** What a request does: a JSON API method id, plus names for the parts of uploads and downloads that have none. */
export type Operation =
  | 'objects.insert' // media and multipart uploads, and the POST that starts a resumable session
  | 'uploads.chunk' // a PUT to a resumable session: data, or a status query
  | 'uploads.cancel'
  | 'objects.get' // metadata
  | 'objects.download' // alt=media. GCS counts it as objects.get; it has its own name here so tests can count reads.
  | 'objects.list'
  | 'objects.delete'
  | 'objects.compose'
  | 'buckets.insert'
  | 'buckets.get'
  | 'buckets.patch'
  | 'buckets.delete'
  | 'batch'
  | 'unknown';

export interface FakeGcsOptions {
  /** Buckets that exist from the start. */
  buckets?: readonly string[];
}

export interface LoggedRequest {
  readonly operation: Operation;
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** A sub-request of a batch; the batch itself is logged too, as `batch`. */
  readonly inBatch: boolean;
  /** Set once the request is answered. */
  status?: number;
}

export interface Fault {
  /** The operation the fault applies to. When omitted, it applies to every request, including batch sub-requests. */
  operation?: Operation;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** Holds each matching request this long before answering it, e.g. to trip a client timeout. */
  delayMs?: number;
  /** The status to answer with instead of serving the request. When omitted, the request is served after `delayMs`. */
  status?: number;
  headers?: Record<string, string>;
  /** Replaces the default error body, which has GCS's shape. */
  body?: object;
}

/** A stored object, as `objects(bucket)` shows it to tests. */
export interface StoredObject {
  readonly name: string;
  readonly bytes: Buffer;
  readonly generation: string;
  readonly metageneration: string;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>> | undefined;
  readonly crc32c: string;
  readonly md5Hash: string | undefined;
}

interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

interface Route {
  readonly operation: Operation;
  readonly run: () => Reply | Promise<Reply>;
}

/** The object metadata that a writer may set and that GCS echoes back. */
interface SettableMetadata {
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  metadata?: Record<string, string>;
}

interface ObjectRecord {
  readonly name: string;
  /** The name's UTF-8 bytes: GCS orders listings by these bytes, not by UTF-16 code units. */
  readonly key: Buffer;
  readonly bytes: Buffer;
  readonly generation: number;
  readonly metageneration: number;
  readonly contentType: string;
  readonly settable: SettableMetadata;
  readonly crc32c: string;
  /** GCS computes no MD5 for composite objects. */
  readonly md5Hash: string | undefined;
  readonly componentCount: number | undefined;
  readonly created: Date;
}

interface BucketRecord {
  readonly name: string;
  readonly created: Date;
  updated: Date;
  metageneration: number;
  labels: Record<string, string> | undefined;
  lifecycle: unknown;
  readonly objects: Map<string, ObjectRecord>;
}

interface UploadSession {
  readonly bucket: string;
  readonly name: string;
  readonly metadata: Record<string, unknown>;
  /** The query of the POST that started the session. Its preconditions are checked when the upload completes. */
  readonly conditions: URLSearchParams;
  /** From X-Upload-Content-Length, when the client declared the size up front. */
  readonly declaredSize: number | undefined;
  readonly chunks: Buffer[];
  received: number;
  /** The reply of the request that completed the upload. GCS answers later PUTs with the same resource. */
  result?: Reply;
}

const PRECONDITION_FAILED = 'At least one of the pre-conditions you specified did not hold.';
const MAX_LIST_RESULTS = 1000;
const MAX_BATCH_SIZE = 100;
const MAX_COMPOSE_SOURCES = 32;
const VALID_BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const CRLF = Buffer.from('\r\n');

/** The default bodies of injected faults: GCS's message, reason and domain for each status. */
const FAULT_ERRORS: Readonly<Record<number, readonly [message: string, reason: string, domain?: string]>> = {
  401: ['Anonymous caller does not have storage.objects.get access.', 'required'],
  403: ['The caller does not have permission.', 'forbidden'],
  404: ['Not Found', 'notFound'],
  412: [PRECONDITION_FAILED, 'conditionNotMet'],
  429: [
    'The rate of change requests to the object exceeds the rate limit. Please reduce the rate of create, update, and delete requests.',
    'rateLimitExceeded',
    'usageLimits',
  ],
  500: ['We encountered an internal error. Please try again.', 'backendError'],
  503: ['Backend Error', 'backendError'],
};

export class FakeGcsServer {
  private readonly server = createServer((req, res) => this.onRequest(req, res));
  private readonly buckets = new Map<string, BucketRecord>();
  private readonly uploads = new Map<string, UploadSession>();
  private readonly log: LoggedRequest[] = [];
  private faults: Array<Fault & { remaining: number }> = [];
  /** Releases held requests, so that stop() does not wait for their delays. */
  private readonly holds = new Set<() => void>();
  private lastGeneration = 0;
  private address = '';

  private constructor(buckets: readonly string[]) {
    for (const name of buckets) this.addBucket(name, {});
    // The client keeps connections alive. Node closes idle ones after 5 s, which can race with a
    // request that the client sends on the same socket; stop() closes every connection anyway.
    // (Kept below the 60 s headersTimeout.)
    this.server.keepAliveTimeout = 30_000;
  }

  static async start(options: FakeGcsOptions = {}): Promise<FakeGcsServer> {
    const fake = new FakeGcsServer(options.buckets ?? []);
    await new Promise<void>((resolve, reject) => {
      fake.server.once('error', reject);
      fake.server.listen(0, '127.0.0.1', resolve);
    });
    fake.address = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The client's `apiEndpoint`. */
  get url(): string {
    return this.address;
  }

  get requests(): readonly LoggedRequest[] {
    return [...this.log];
  }

  /** Requests by operation, batch sub-requests included. */
  get counts(): Readonly<Partial<Record<Operation, number>>> {
    const counts: Partial<Record<Operation, number>> = {};
    for (const { operation } of this.log) counts[operation] = (counts[operation] ?? 0) + 1;
    return counts;
  }

  resetLog(): void {
    this.log.length = 0;
  }

  /** Applies to the next `times` matching requests. Faults apply in the order they were injected. */
  injectFaults(fault: Fault): void {
    this.faults.push({ ...fault, remaining: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** The bucket's objects in listing order (UTF-8 bytes of the name). The bytes are copies. */
  objects(bucket: string): Map<string, StoredObject> {
    const records = [...this.bucketOrThrow(bucket).objects.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    return new Map(records.map((record) => [record.name, storedObject(record)]));
  }

  /** Stores an object directly, as an upload would, without a request: for arranging a test's state. */
  putObject(
    bucket: string,
    name: string,
    data: string | Uint8Array,
    options: { contentType?: string; metadata?: Record<string, string> } = {},
  ): StoredObject {
    const record = this.writeObject(this.bucketOrThrow(bucket), name, Buffer.from(data), { ...options });
    return storedObject(record);
  }

  async stop(): Promise<void> {
    for (const release of this.holds) release();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // --- HTTP plumbing -------------------------------------------------------------------------

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    // A client that gives up (a timeout, say) resets the connection. Without a listener, that error
    // would be thrown as uncaught and end the test process.
    req.on('error', () => {});
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const request: HttpRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: flattenHeaders(req.headers),
        body: Buffer.concat(chunks),
      };
      void this.handle(request, false).then((reply) => send(res, reply));
    });
  }

  /** Logs the request, applies any fault, then serves it. Batch sub-requests come through here too. */
  private async handle(req: HttpRequest, inBatch: boolean): Promise<Reply> {
    const route = this.route(req);
    const entry: LoggedRequest = {
      operation: route.operation,
      method: req.method,
      path: req.path,
      query: req.query.toString(),
      inBatch,
    };
    this.log.push(entry);
    const fault = this.takeFault(route.operation);
    if (fault?.delayMs) await this.hold(fault.delayMs);
    let reply: Reply;
    try {
      reply = fault?.status !== undefined ? faultReply(fault.status, fault) : await route.run();
    } catch (error) {
      // A bug in the fake surfaces as a 500 that names it, rather than as a hung request.
      reply = apiError(500, `fake GCS server error: ${error instanceof Error ? error.stack : String(error)}`, 'backendError');
    }
    entry.status = reply.status;
    return reply;
  }

  private takeFault(operation: Operation): Fault | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && (f.operation === undefined || f.operation === operation));
    if (fault) fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }

  private hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const release = (): void => {
        clearTimeout(timer);
        this.holds.delete(release);
        resolve();
      };
      const timer = setTimeout(release, ms);
      this.holds.add(release);
    });
  }

  private route(req: HttpRequest): Route {
    const { method, path } = req;
    const match = (pattern: RegExp): string[] | undefined => pattern.exec(path)?.slice(1).map((segment) => decodeURIComponent(segment));
    let p: string[] | undefined;
    try {
      if ((p = match(/^\/upload\/storage\/v1\/b\/([^/]+)\/o$/))) {
        const [bucket = ''] = p;
        if (method === 'POST') return { operation: 'objects.insert', run: () => this.insert(bucket, req) };
        if (method === 'PUT') return { operation: 'uploads.chunk', run: () => this.uploadChunk(bucket, req) };
        if (method === 'DELETE') return { operation: 'uploads.cancel', run: () => this.cancelUpload(req) };
      } else if (path === '/batch/storage/v1') {
        if (method === 'POST') return { operation: 'batch', run: () => this.batch(req) };
      } else if (path === '/storage/v1/b') {
        if (method === 'POST') return { operation: 'buckets.insert', run: () => this.insertBucket(req) };
      } else if ((p = match(/^\/storage\/v1\/b\/([^/]+)$/))) {
        const [bucket = ''] = p;
        if (method === 'GET') return { operation: 'buckets.get', run: () => this.getBucket(bucket) };
        if (method === 'PATCH') return { operation: 'buckets.patch', run: () => this.patchBucket(bucket, req) };
        if (method === 'DELETE') return { operation: 'buckets.delete', run: () => this.deleteBucket(bucket) };
      } else if ((p = match(/^\/storage\/v1\/b\/([^/]+)\/o$/))) {
        const [bucket = ''] = p;
        if (method === 'GET') return { operation: 'objects.list', run: () => this.list(bucket, req.query) };
      } else if ((p = match(/^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)\/compose$/))) {
        const [bucket = '', name = ''] = p;
        if (method === 'POST') return { operation: 'objects.compose', run: () => this.compose(bucket, name, req) };
      } else if ((p = match(/^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/))) {
        // The client percent-encodes every '/' in an object name, so the name is a single path segment.
        const [bucket = '', name = ''] = p;
        if (method === 'GET') {
          const media = req.query.get('alt') === 'media';
          return { operation: media ? 'objects.download' : 'objects.get', run: () => this.getObject(bucket, name, req, media) };
        }
        if (method === 'DELETE') return { operation: 'objects.delete', run: () => this.deleteObject(bucket, name, req) };
      } else if ((p = match(/^\/download\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/))) {
        // The path of an object resource's mediaLink.
        const [bucket = '', name = ''] = p;
        if (method === 'GET') return { operation: 'objects.download', run: () => this.getObject(bucket, name, req, true) };
      }
    } catch (error) {
      if (!(error instanceof URIError)) throw error;
      return { operation: 'unknown', run: () => apiError(400, `Malformed percent-encoding in ${path}`, 'invalid') };
    }
    const message = `The fake GCS server has no route for ${method} ${path}`;
    return { operation: 'unknown', run: () => apiError(404, message, 'notFound') };
  }

  // --- Objects -------------------------------------------------------------------------------

  private insert(bucketName: string, req: HttpRequest): Reply {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) return noSuchBucket();
    const uploadType = req.query.get('uploadType');
    if (uploadType === 'resumable') return this.startUpload(bucket, req);
    if (uploadType === 'multipart') return this.insertMultipart(bucket, req);
    if (uploadType === 'media') {
      const name = req.query.get('name');
      if (!name) return requiredParameter('name');
      const metadata = { contentType: req.headers['content-type'] };
      return this.commit(bucket, name, req.body, metadata, req.query, req.headers['x-goog-hash']);
    }
    return apiError(
      400,
      'Upload requests must include an uploadType URL parameter and a URL-encoded object name.',
      'wrongUrlForUpload',
    );
  }

  /** The metadata part (JSON) comes first, then the media part: what `save(data, { resumable: false })` sends. */
  private insertMultipart(bucket: BucketRecord, req: HttpRequest): Reply {
    const parts = parseMultipart(req.body, req.headers['content-type'] ?? '');
    const [metadataPart, mediaPart] = parts ?? [];
    if (parts?.length !== 2 || !metadataPart || !mediaPart) {
      return apiError(400, 'A multipart upload needs exactly two parts: JSON metadata, then media.', 'invalid');
    }
    const metadata = parseJsonObject(metadataPart.body);
    if (!metadata) return parseError();
    const name = typeof metadata.name === 'string' && metadata.name ? metadata.name : req.query.get('name');
    if (!name) return requiredParameter('name');
    const contentType = metadata.contentType ?? mediaPart.headers['content-type'];
    return this.commit(bucket, name, mediaPart.body, { ...metadata, contentType }, req.query, req.headers['x-goog-hash']);
  }

  /**
   * The one place where objects are written through the API. The precondition check and the write
   * happen with no await between them, so concurrent conditional writes of one name are serialized:
   * exactly one `ifGenerationMatch=0` create wins.
   */
  private commit(
    bucket: BucketRecord,
    name: string,
    bytes: Buffer,
    metadata: Record<string, unknown>,
    conditions: URLSearchParams,
    hashHeader: string | undefined,
    componentCount?: number,
  ): Reply {
    if (name.length === 0 || Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name)) {
      return apiError(400, 'The specified object name is not valid.', 'invalid');
    }
    const failed = preconditionFailure(conditions, bucket.objects.get(name), false);
    if (failed) return failed;
    const mismatch = hashMismatch(bytes, metadata, hashHeader);
    if (mismatch) return mismatch;
    const record = this.writeObject(bucket, name, bytes, metadata, componentCount);
    return json(200, this.objectResource(bucket.name, record));
  }

  private writeObject(
    bucket: BucketRecord,
    name: string,
    bytes: Buffer,
    metadata: Record<string, unknown>,
    componentCount?: number,
  ): ObjectRecord {
    const record: ObjectRecord = {
      name,
      key: Buffer.from(name, 'utf8'),
      bytes,
      generation: this.nextGeneration(),
      metageneration: 1,
      contentType: typeof metadata.contentType === 'string' && metadata.contentType ? metadata.contentType : 'application/octet-stream',
      settable: settableMetadata(metadata),
      crc32c: crc32cOf(bytes),
      md5Hash: componentCount === undefined ? md5Of(bytes) : undefined,
      componentCount,
      created: new Date(),
    };
    bucket.objects.set(name, record);
    return record;
  }

  /** Generations are microsecond timestamps, as on GCS, kept strictly increasing. */
  private nextGeneration(): number {
    this.lastGeneration = Math.max(Date.now() * 1000, this.lastGeneration + 1);
    return this.lastGeneration;
  }

  private getObject(bucketName: string, name: string, req: HttpRequest, media: boolean): Reply {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) return noSuchBucket();
    const object = this.liveObject(bucket, name, req.query);
    if (!object) return noSuchObject(bucketName, name);
    const failed = preconditionFailure(req.query, object, true);
    if (failed) return failed;
    return media ? mediaReply(object, req.headers.range) : json(200, this.objectResource(bucketName, object));
  }

  private deleteObject(bucketName: string, name: string, req: HttpRequest): Reply {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) return noSuchBucket();
    const object = this.liveObject(bucket, name, req.query);
    if (!object) return noSuchObject(bucketName, name);
    const failed = preconditionFailure(req.query, object, false);
    if (failed) return failed;
    bucket.objects.delete(name);
    return empty(204);
  }

  /** Without versioning, only the live generation exists: a request for any other one finds nothing. */
  private liveObject(bucket: BucketRecord, name: string, query: URLSearchParams): ObjectRecord | undefined {
    const object = bucket.objects.get(name);
    const generation = query.get('generation');
    return generation === null || generation === String(object?.generation) ? object : undefined;
  }

  /**
   * The page token is the last entry returned (an object name or a prefix). The next page starts
   * after that entry in byte order, so objects added or deleted between pages neither shift nor
   * repeat entries.
   */
  private list(bucketName: string, query: URLSearchParams): Reply {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) return noSuchBucket();
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const maxParam = query.get('maxResults');
    const maxResults = maxParam === null ? MAX_LIST_RESULTS : Number(maxParam);
    if (!Number.isInteger(maxResults) || maxResults < 1) return invalidParameter('maxResults', maxParam);
    const limit = Math.min(maxResults, MAX_LIST_RESULTS);
    const token = query.get('pageToken');
    const after = token ? decodePageToken(token) : undefined;
    if (token && after === undefined) return invalidParameter('pageToken', token);
    const startOffset = query.get('startOffset');
    const endOffset = query.get('endOffset');
    const startKey = startOffset ? Buffer.from(startOffset) : undefined;
    const endKey = endOffset ? Buffer.from(endOffset) : undefined;

    const items: Array<Record<string, unknown>> = [];
    const prefixes: string[] = [];
    let last: Buffer | undefined = after;
    let truncated = false;
    const sorted = [...bucket.objects.values()].sort((a, b) => Buffer.compare(a.key, b.key));
    for (const object of sorted) {
      if (!object.name.startsWith(prefix)) continue;
      if (startKey && Buffer.compare(object.key, startKey) < 0) continue;
      if (endKey && Buffer.compare(object.key, endKey) >= 0) continue;
      const cut = delimiter ? object.name.indexOf(delimiter, prefix.length) : -1;
      const entry = cut < 0 ? object.key : Buffer.from(object.name.slice(0, cut + delimiter.length));
      // A prefix sorts before the names under it, so this also skips the names under a prefix that
      // was already returned, on this page or an earlier one.
      if (last && Buffer.compare(entry, last) <= 0) continue;
      if (items.length + prefixes.length === limit) {
        truncated = true;
        break;
      }
      if (cut < 0) items.push(this.objectResource(bucketName, object));
      else prefixes.push(entry.toString());
      last = entry;
    }
    return json(200, {
      kind: 'storage#objects',
      ...(truncated && last && { nextPageToken: last.toString('base64url') }),
      ...(prefixes.length > 0 && { prefixes }),
      ...(items.length > 0 && { items }),
    });
  }

  /** Concatenates up to 32 source objects of the bucket into the destination (objects.compose). */
  private compose(bucketName: string, destination: string, req: HttpRequest): Reply {
    const bucket = this.buckets.get(bucketName);
    if (!bucket) return noSuchBucket();
    const body = parseJsonObject(req.body);
    if (!body) return parseError();
    const sources = body.sourceObjects;
    if (!Array.isArray(sources) || sources.length === 0 || sources.length > MAX_COMPOSE_SOURCES) {
      return apiError(400, `A compose request needs between 1 and ${MAX_COMPOSE_SOURCES} source objects.`, 'invalid');
    }
    const parts: Buffer[] = [];
    let componentCount = 0;
    for (const source of sources) {
      if (!isRecord(source) || typeof source.name !== 'string') return requiredParameter('sourceObjects.name');
      const object = bucket.objects.get(source.name);
      if (!object || (source.generation !== undefined && String(source.generation) !== String(object.generation))) {
        return noSuchObject(bucketName, source.name);
      }
      const expected = isRecord(source.objectPreconditions) ? source.objectPreconditions.ifGenerationMatch : undefined;
      if (expected !== undefined && String(expected) !== String(object.generation)) return preconditionFailed('If-Match');
      parts.push(object.bytes);
      componentCount += object.componentCount ?? 1;
    }
    const metadata = isRecord(body.destination) ? body.destination : {};
    return this.commit(bucket, destination, Buffer.concat(parts), metadata, req.query, undefined, componentCount);
  }

  private objectResource(bucket: string, object: ObjectRecord): Record<string, unknown> {
    const path = `b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(object.name)}`;
    const time = object.created.toISOString();
    return {
      kind: 'storage#object',
      id: `${bucket}/${object.name}/${object.generation}`,
      selfLink: `${this.url}/storage/v1/${path}`,
      mediaLink: `${this.url}/download/storage/v1/${path}?generation=${object.generation}&alt=media`,
      name: object.name,
      bucket,
      generation: String(object.generation),
      metageneration: String(object.metageneration),
      contentType: object.contentType,
      storageClass: 'STANDARD',
      size: String(object.bytes.length),
      ...(object.md5Hash !== undefined && { md5Hash: object.md5Hash }),
      crc32c: object.crc32c,
      ...(object.componentCount !== undefined && { componentCount: object.componentCount }),
      etag: etag(object.generation, object.metageneration),
      timeCreated: time,
      updated: time,
      timeStorageClassUpdated: time,
      ...object.settable,
    };
  }

  // --- Resumable uploads ---------------------------------------------------------------------

  private startUpload(bucket: BucketRecord, req: HttpRequest): Reply {
    const metadata = req.body.length > 0 ? parseJsonObject(req.body) : {};
    if (!metadata) return parseError();
    const name = req.query.get('name') ?? metadata.name;
    if (typeof name !== 'string' || !name) return requiredParameter('name');
    const declared = req.headers['x-upload-content-length'];
    const id = randomUUID().replaceAll('-', '');
    this.uploads.set(id, {
      bucket: bucket.name,
      name,
      metadata: { ...metadata, contentType: metadata.contentType ?? req.headers['x-upload-content-type'] },
      conditions: new URLSearchParams(req.query),
      declaredSize: declared === undefined ? undefined : Number(declared),
      chunks: [],
      received: 0,
    });
    const location =
      `${this.url}/upload/storage/v1/b/${encodeURIComponent(bucket.name)}/o` +
      `?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    return empty(200, { location });
  }

  /**
   * A PUT to a session. `Content-Range: bytes a-b/*` carries a chunk (answered 308 with the persisted
   * range), `bytes a-b/total` carries the last one, `bytes a-*\/*` (what the client sends when it has no
   * chunkSize) carries everything that is left, and `bytes *\/*` or `bytes *\/total` asks for the status.
   */
  private uploadChunk(bucketName: string, req: HttpRequest): Reply {
    const id = req.query.get('upload_id') ?? '';
    const session = this.uploads.get(id);
    if (!session || session.bucket !== bucketName) return apiError(404, `No upload session ${id} in bucket ${bucketName}.`, 'notFound');
    if (session.result) return session.result;
    const range = parseContentRange(req.headers['content-range']);
    if (!range) return apiError(400, `Invalid Content-Range: ${req.headers['content-range']}`, 'invalid');

    if (range.first !== undefined) {
      if (range.first > session.received) {
        return apiError(
          400,
          `Invalid request. According to the Content-Range header, the upload offset is ${range.first} byte(s), which exceeds already uploaded size of ${session.received} byte(s).`,
          'invalid',
        );
      }
      if (range.last !== undefined && range.last - range.first + 1 !== req.body.length) {
        return apiError(400, `Content-Range ${req.headers['content-range']} does not match the ${req.body.length} byte(s) sent.`, 'invalid');
      }
      // A retried chunk may repeat bytes the session already holds; GCS keeps only the new ones.
      const fresh = req.body.subarray(session.received - range.first);
      session.chunks.push(fresh);
      session.received += fresh.length;
    }

    const total = range.total ?? (range.first !== undefined && range.last === undefined ? session.received : undefined);
    if (total === undefined || session.received < total) {
      return empty(308, session.received > 0 ? { range: `bytes=0-${session.received - 1}` } : {});
    }
    if (session.received > total || (session.declaredSize !== undefined && session.declaredSize !== total)) {
      return apiError(400, `The upload has ${session.received} byte(s), not the ${total} byte(s) announced.`, 'invalid');
    }
    const bucket = this.buckets.get(bucketName);
    if (!bucket) return noSuchBucket();
    const reply = this.commit(bucket, session.name, Buffer.concat(session.chunks), session.metadata, session.conditions, req.headers['x-goog-hash']);
    if (reply.status === 200) session.result = reply;
    else this.uploads.delete(id);
    return reply;
  }

  /** GCS answers a cancelled session with the non-standard status 499. */
  private cancelUpload(req: HttpRequest): Reply {
    const id = req.query.get('upload_id') ?? '';
    if (!this.uploads.delete(id)) return apiError(404, `No upload session ${id}.`, 'notFound');
    return empty(499);
  }

  // --- Batch ---------------------------------------------------------------------------------

  /**
   * POST /batch/storage/v1 (https://cloud.google.com/storage/docs/batch): each multipart/mixed part
   * holds an HTTP request, run in order. The answer holds one application/http part per request,
   * with `Content-ID: <response-ID>` for a request part's `Content-ID: <ID>`.
   */
  private async batch(req: HttpRequest): Promise<Reply> {
    const parts = parseMultipart(req.body, req.headers['content-type'] ?? '');
    if (!parts || parts.length === 0) return apiError(400, 'A batch request needs a multipart/mixed body with at least one part.', 'invalid');
    if (parts.length > MAX_BATCH_SIZE) {
      return apiError(400, `A batch request can hold at most ${MAX_BATCH_SIZE} requests; this one holds ${parts.length}.`, 'invalid');
    }
    const boundary = `batch_${randomUUID().replaceAll('-', '')}`;
    const out: Buffer[] = [];
    for (const part of parts) {
      const inner = parseHttpRequest(part.body, req.headers);
      const reply = !inner
        ? apiError(400, 'A batch part must hold an HTTP request.', 'invalid')
        : inner.path.startsWith('/storage/v1/')
          ? await this.handle(inner, true)
          : apiError(400, `Batch requests can only reach the JSON API (/storage/v1/), not ${inner.path}.`, 'invalid');
      const id = part.headers['content-id'];
      const responseId = id === undefined ? '' : /^<.*>$/.test(id) ? `<response-${id.slice(1, -1)}>` : `response-${id}`;
      const head = [
        `--${boundary}`,
        'Content-Type: application/http',
        ...(id === undefined ? [] : [`Content-ID: ${responseId}`]),
        '',
        `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}`,
        ...Object.entries(reply.headers).map(([name, value]) => `${name}: ${value}`),
        `content-length: ${reply.body.length}`,
        '',
        '',
      ].join('\r\n');
      out.push(Buffer.from(head), reply.body, CRLF);
    }
    out.push(Buffer.from(`--${boundary}--\r\n`));
    return { status: 200, headers: { 'content-type': `multipart/mixed; boundary=${boundary}` }, body: Buffer.concat(out) };
  }

  // --- Buckets -------------------------------------------------------------------------------

  private insertBucket(req: HttpRequest): Reply {
    if (!req.query.get('project')) return requiredParameter('project');
    const body = parseJsonObject(req.body);
    if (!body) return parseError();
    const name = body.name;
    if (typeof name !== 'string' || !VALID_BUCKET_NAME.test(name)) return apiError(400, `Invalid bucket name: '${String(name)}'`, 'invalid');
    if (this.buckets.has(name)) {
      return apiError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
    }
    return json(200, this.bucketResource(this.addBucket(name, body)));
  }

  private addBucket(name: string, body: Record<string, unknown>): BucketRecord {
    const now = new Date();
    const bucket: BucketRecord = {
      name,
      created: now,
      updated: now,
      metageneration: 1,
      labels: isRecord(body.labels) ? stringRecord(body.labels) : undefined,
      lifecycle: body.lifecycle,
      objects: new Map(),
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  private bucketOrThrow(name: string): BucketRecord {
    const bucket = this.buckets.get(name);
    if (!bucket) throw new Error(`The fake GCS server has no bucket ${name}`);
    return bucket;
  }

  private getBucket(name: string): Reply {
    const bucket = this.buckets.get(name);
    return bucket ? json(200, this.bucketResource(bucket)) : noSuchBucket();
  }

  /** PATCH merges labels (a null value removes a label) and replaces the lifecycle; other fields are ignored. */
  private patchBucket(name: string, req: HttpRequest): Reply {
    const bucket = this.buckets.get(name);
    if (!bucket) return noSuchBucket();
    const body = parseJsonObject(req.body);
    if (!body) return parseError();
    if (isRecord(body.labels)) {
      const labels = { ...bucket.labels };
      for (const [key, value] of Object.entries(body.labels)) {
        if (value === null) delete labels[key];
        else labels[key] = String(value);
      }
      bucket.labels = labels;
    }
    if ('lifecycle' in body) bucket.lifecycle = body.lifecycle ?? undefined;
    bucket.metageneration += 1;
    bucket.updated = new Date();
    return json(200, this.bucketResource(bucket));
  }

  private deleteBucket(name: string): Reply {
    const bucket = this.buckets.get(name);
    if (!bucket) return noSuchBucket();
    if (bucket.objects.size > 0) return apiError(409, 'The bucket you tried to delete is not empty.', 'conflict');
    this.buckets.delete(name);
    return empty(204);
  }

  private bucketResource(bucket: BucketRecord): Record<string, unknown> {
    return {
      kind: 'storage#bucket',
      selfLink: `${this.url}/storage/v1/b/${encodeURIComponent(bucket.name)}`,
      id: bucket.name,
      name: bucket.name,
      metageneration: String(bucket.metageneration),
      location: 'US',
      locationType: 'multi-region',
      storageClass: 'STANDARD',
      etag: etag(bucket.metageneration),
      timeCreated: bucket.created.toISOString(),
      updated: bucket.updated.toISOString(),
      ...(bucket.labels && { labels: bucket.labels }),
      ...(bucket.lifecycle !== undefined && { lifecycle: bucket.lifecycle }),
    };
  }
}

// --- Replies -----------------------------------------------------------------------------------

function send(res: ServerResponse, reply: Reply): void {
  // The client may have given up on a held request and closed the connection.
  if (res.destroyed) return;
  const bodiless = reply.status === 204 || reply.status === 304;
  res.writeHead(reply.status, bodiless ? reply.headers : { ...reply.headers, 'content-length': String(reply.body.length) });
  res.end(bodiless ? undefined : reply.body);
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json; charset=UTF-8', ...headers }, body: Buffer.from(JSON.stringify(value)) };
}

function empty(status: number, headers: Record<string, string> = {}): Reply {
  return { status, headers, body: Buffer.alloc(0) };
}

/** The JSON API's error body: `{ error: { code, message, errors: [{ message, domain, reason, ... }] } }`. */
function apiError(
  status: number,
  message: string,
  reason: string,
  details: Record<string, string> = {},
  headers: Record<string, string> = {},
): Reply {
  return json(status, { error: { code: status, message, errors: [{ message, domain: 'global', reason, ...details }] } }, headers);
}

function faultReply(status: number, fault: Fault): Reply {
  if (fault.body) return json(status, fault.body, fault.headers);
  const [message, reason, domain = 'global'] = FAULT_ERRORS[status] ?? [STATUS_CODES[status] ?? 'Error', status >= 500 ? 'backendError' : 'invalid'];
  return apiError(status, message, reason, { domain }, fault.headers);
}

function noSuchBucket(): Reply {
  return apiError(404, 'The specified bucket does not exist.', 'notFound');
}

function noSuchObject(bucket: string, name: string): Reply {
  return apiError(404, `No such object: ${bucket}/${name}`, 'notFound');
}

function preconditionFailed(location: string): Reply {
  return apiError(412, PRECONDITION_FAILED, 'conditionNotMet', { locationType: 'header', location });
}

function requiredParameter(name: string): Reply {
  return apiError(400, `Required parameter: ${name}`, 'required', { locationType: 'parameter', location: name });
}

function invalidParameter(name: string, value: string | null): Reply {
  return apiError(400, `Invalid value for ${name}: ${String(value)}`, 'invalid', { locationType: 'parameter', location: name });
}

function parseError(): Reply {
  return apiError(400, 'Parse Error', 'parseError');
}

/** The alt=media answer, with the x-goog-* headers the client reads to validate a full download. */
function mediaReply(object: ObjectRecord, rangeHeader: string | undefined): Reply {
  const size = object.bytes.length;
  const { contentEncoding, contentDisposition, contentLanguage, cacheControl } = object.settable;
  const headers: Record<string, string> = {
    'content-type': object.contentType,
    etag: etag(object.generation, object.metageneration),
    'last-modified': object.created.toUTCString(),
    'accept-ranges': 'bytes',
    'x-goog-generation': String(object.generation),
    'x-goog-metageneration': String(object.metageneration),
    'x-goog-storage-class': 'STANDARD',
    'x-goog-stored-content-length': String(size),
    'x-goog-stored-content-encoding': contentEncoding ?? 'identity',
    // The whole object's hashes, on ranged reads too: the client skips validation for those.
    'x-goog-hash': [`crc32c=${object.crc32c}`, ...(object.md5Hash ? [`md5=${object.md5Hash}`] : [])].join(','),
    ...(contentEncoding !== undefined && { 'content-encoding': contentEncoding }),
    ...(contentDisposition !== undefined && { 'content-disposition': contentDisposition }),
    ...(contentLanguage !== undefined && { 'content-language': contentLanguage }),
    ...(cacheControl !== undefined && { 'cache-control': cacheControl }),
  };
  const range = parseRange(rangeHeader, size);
  if (range === undefined) return { status: 200, headers, body: object.bytes };
  if (range === 'unsatisfiable') {
    return apiError(416, 'The requested range cannot be satisfied.', 'requestedRangeNotSatisfiable', {}, { 'content-range': `bytes */${size}` });
  }
  return {
    status: 206,
    headers: { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${size}` },
    body: object.bytes.subarray(range.start, range.end + 1),
  };
}

// --- Semantics ---------------------------------------------------------------------------------

/**
 * Evaluates ifGenerationMatch, ifGenerationNotMatch, ifMetagenerationMatch and ifMetagenerationNotMatch
 * against the live object (absent: undefined). `ifGenerationMatch=0` means "only if there is no live
 * object". Returns the error reply, or undefined when every condition holds.
 */
function preconditionFailure(query: URLSearchParams, current: ObjectRecord | undefined, read: boolean): Reply | undefined {
  const conditions: ReadonlyArray<readonly [param: string, notMatch: boolean, holds: (value: number) => boolean]> = [
    ['ifGenerationMatch', false, (g) => (g === 0 ? current === undefined : current?.generation === g)],
    ['ifGenerationNotMatch', true, (g) => current !== undefined && current.generation !== g],
    ['ifMetagenerationMatch', false, (m) => current?.metageneration === m],
    ['ifMetagenerationNotMatch', true, (m) => current !== undefined && current.metageneration !== m],
  ];
  for (const [param, notMatch, holds] of conditions) {
    const raw = query.get(param);
    if (raw === null) continue;
    if (!/^\d+$/.test(raw)) return invalidParameter(param, raw);
    if (holds(Number(raw))) continue;
    if (read && notMatch) return empty(304);
    return preconditionFailed(notMatch ? 'If-None-Match' : 'If-Match');
  }
  return undefined;
}

/** GCS rejects an upload whose declared hashes (metadata crc32c/md5Hash, or X-Goog-Hash) do not match the data. */
function hashMismatch(bytes: Buffer, metadata: Record<string, unknown>, hashHeader: string | undefined): Reply | undefined {
  const declared = new Map<string, unknown>([
    ['crc32c', metadata.crc32c],
    ['md5', metadata.md5Hash],
  ]);
  for (const pair of hashHeader?.split(',') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0) declared.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
  }
  const crc32c = declared.get('crc32c');
  if (typeof crc32c === 'string' && crc32c !== crc32cOf(bytes)) {
    return apiError(400, `Provided CRC32C "${crc32c}" doesn't match calculated CRC32C "${crc32cOf(bytes)}".`, 'invalid');
  }
  const md5 = declared.get('md5');
  if (typeof md5 === 'string' && md5 !== md5Of(bytes)) {
    return apiError(400, `Provided MD5 hash "${md5}" doesn't match calculated MD5 hash "${md5Of(bytes)}".`, 'invalid');
  }
  return undefined;
}

function settableMetadata(metadata: Record<string, unknown>): SettableMetadata {
  const settable: SettableMetadata = {};
  for (const field of ['cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage'] as const) {
    const value = metadata[field];
    if (typeof value === 'string') settable[field] = value;
  }
  if (isRecord(metadata.metadata)) settable.metadata = stringRecord(metadata.metadata);
  return settable;
}

function storedObject(record: ObjectRecord): StoredObject {
  return {
    name: record.name,
    bytes: Buffer.from(record.bytes),
    generation: String(record.generation),
    metageneration: String(record.metageneration),
    contentType: record.contentType,
    metadata: record.settable.metadata,
    crc32c: record.crc32c,
    md5Hash: record.md5Hash,
  };
}

/** Big-endian CRC32C in base64, as GCS reports it. */
function crc32cOf(bytes: Buffer): string {
  const crc = new CRC32C();
  crc.update(bytes);
  return crc.toString();
}

function md5Of(bytes: Buffer): string {
  return createHash('md5').update(bytes).digest('base64');
}

/**
 * GCS etags are base64 of a small protobuf message: field 1 the generation (objects) and field 2 the
 * metageneration, or field 1 the metageneration (buckets). Clients treat them as opaque.
 */
function etag(...fields: number[]): string {
  const bytes: number[] = [];
  fields.forEach((field, index) => {
    bytes.push(((index + 1) << 3) | 0); // field number, wire type varint
    let value = BigInt(field);
    while (value >= 0x80n) {
      bytes.push(Number(value & 0x7fn) | 0x80);
      value >>= 7n;
    }
    bytes.push(Number(value));
  });
  return Buffer.from(bytes).toString('base64');
}

// --- Parsing -----------------------------------------------------------------------------------

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function decodePageToken(token: string): Buffer | undefined {
  const decoded = Buffer.from(token, 'base64url');
  return decoded.length > 0 ? decoded : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Drops null values (GCS's way of removing a key) and stringifies the rest. */
function stringRecord(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).flatMap(([key, v]) => (v === null || v === undefined ? [] : [[key, String(v)]])));
}

function parseJsonObject(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n`. HTTP lets a server ignore a malformed or multi-range header: it gets the whole object. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  const [, first = '', last = ''] = match ?? [];
  if (!match || (first === '' && last === '')) return undefined;
  if (first === '') {
    const suffix = Number(last);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

/**
 * A resumable PUT's Content-Range: `bytes a-b/T`, `bytes a-*\/T` or `bytes *\/T`, where T may be `*`.
 * `first` is undefined for a status query; `last` is undefined when the body runs to the end of the
 * upload. No header at all means the body is the whole remaining upload.
 */
function parseContentRange(header: string | undefined): { first?: number; last?: number; total?: number } | undefined {
  if (header === undefined) return { first: 0 };
  const match = /^bytes (?:\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first, last, total] = match;
  const number = (value: string | undefined): number | undefined => (value === undefined || value === '*' ? undefined : Number(value));
  return { first: number(first), last: number(last), total: number(total) };
}

interface Part {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A multipart/related or multipart/mixed body (RFC 2046), binary-safe. Undefined when malformed. */
function parseMultipart(body: Buffer, contentType: string): Part[] | undefined {
  const param = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = param?.[1] ?? param?.[2];
  if (!boundary) return undefined;
  const delimiter = Buffer.from(`--${boundary}`);
  const next = Buffer.concat([CRLF, delimiter]);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) return undefined;
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === '--') return parts;
    const lineEnd = body.indexOf(CRLF, at);
    const end = body.indexOf(next, at);
    if (lineEnd < 0 || end < 0) return undefined;
    const part = body.subarray(lineEnd + 2, end);
    const split = part.subarray(0, 2).equals(CRLF) ? 0 : part.indexOf('\r\n\r\n');
    if (split < 0) return undefined;
    parts.push({
      headers: parseHeaderLines(part.subarray(0, split).toString('latin1')),
      body: part.subarray(split === 0 ? 2 : split + 4),
    });
    at = end + CRLF.length;
  }
}

function parseHeaderLines(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/**
 * The HTTP request inside a batch part. The outer request's headers apply to it, except Content-*
 * ones, and its own headers win.
 */
function parseHttpRequest(text: Buffer, outerHeaders: Readonly<Record<string, string>>): HttpRequest | undefined {
  const source = text.toString('utf8');
  const headEnd = /\r?\n\r?\n/.exec(source);
  const head = headEnd ? source.slice(0, headEnd.index) : source;
  const [requestLine = '', ...headerLines] = head.split(/\r?\n/);
  const [method, target] = requestLine.split(' ');
  if (!method || !target) return undefined;
  const url = new URL(target, 'http://fake');
  const inherited = Object.fromEntries(Object.entries(outerHeaders).filter(([name]) => !name.startsWith('content-')));
  return {
    method: method.toUpperCase(),
    path: url.pathname,
    query: url.searchParams,
    headers: { ...inherited, ...parseHeaderLines(headerLines.join('\n')) },
    body: headEnd ? Buffer.from(source.slice(headEnd.index + headEnd[0].length)) : Buffer.alloc(0),
  };
}
