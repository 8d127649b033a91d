import { abortError, assertByteRange, disposedError, assertValidStorageKey, decodeKeyCursor, encodeKeyCursor, listPageLimit, throwIfAborted } from '@fanout/adapter-kit';
import type {
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
import type { Redis } from 'ioredis';
import { describeServer, mapRedisError, objectTooLargeError } from './redis-errors.js';
import { LIST_PAGE_SCRIPT, LIST_PAGE_SIZE, listBounds, parseListReply } from './redis-listing.js';
import type { ResolvedRedisStorageOptions } from './redis-options.js';

/**
 * The module another process imports to open this same storage: the built entry point of this
 * package, as a file URL. A file URL rather than the package name, because local compute's child
 * processes resolve bare names from fanout's own packages and the user's project, and neither
 * needs to have this package installed (a test, a monorepo example). Resolved from the package
 * root, so it points at `dist/` also when a test runner loads this file from `src/`.
 */
export const REDIS_ADAPTER_MODULE = new URL('../dist/index.js', import.meta.url).href;

/** Largest value of one Redis string (`proto-max-bulk-len`, 512 MiB by default). */
export const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

/** Keys removed per MULTI in `delete`: bounds the size of one command and the time the server is blocked. */
const DELETE_BATCH_SIZE = 500;

/** Longest wait between reconnection attempts, in milliseconds. */
const MAX_RECONNECT_DELAY_MS = 2000;

/** The ioredis client with the list script registered through `defineCommand`. */
type ScriptedRedis = Redis & {
  fanoutListPage(index: string, modified: string, lower: Buffer, upper: Buffer, limit: number, objectPrefix: string): Promise<unknown>;
};

/**
 * Object storage in Redis. Each object's bytes are one Redis string; a sorted set indexes every
 * key (score 0, so ordered by bytes) for prefix listing; a hash keeps modification times. Writes
 * update all three in one MULTI, so a reader sees an object in all of them or in none.
 *
 * Redis keys, for the namespace `ns`: `ns:object:<key>`, `ns:index`, `ns:modified`.
 */
export class RedisStorage implements StorageBackendV1 {
  readonly specificationVersion = 'v1';
  readonly name = 'redis';
  readonly capabilities: StorageCapabilitiesV1 = {
    conditionalCreate: true,
    listPageSize: LIST_PAGE_SIZE,
    maxObjectBytes: MAX_OBJECT_BYTES,
    // `put` of a stream is collected in memory before the SET, and there is no getStream.
    streaming: false,
  };
  /** How a local worker process opens this same storage. Holds the URL, so it may hold a password. */
  readonly reference: StorageReferenceV1;

  private readonly options: ResolvedRedisStorageOptions;
  private readonly server: string;
  private readonly objectPrefix: string;
  private readonly indexKey: string;
  private readonly modifiedKey: string;
  private client: Promise<ScriptedRedis> | undefined;
  private lastConnectionError: Error | undefined;
  private disposed = false;

  constructor(options: ResolvedRedisStorageOptions) {
    this.options = options;
    this.server = describeServer(options.url);
    this.objectPrefix = `${options.namespace}:object:`;
    this.indexKey = `${options.namespace}:index`;
    this.modifiedKey = `${options.namespace}:modified`;
    this.reference = { module: REDIS_ADAPTER_MODULE, options };
  }

  async get(key: string, options: StorageGetOptions = {}): Promise<Uint8Array | undefined> {
    const { signal, range } = options;
    this.prepare(key, signal);
    if (range) assertByteRange(range);
    return this.run('read', key, signal, async (client) => {
      const objectKey = this.objectPrefix + key;
      if (!range) return plainBytes(await client.getBuffer(objectKey));
      // GETRANGE of a missing key is "" like an empty range: EXISTS in the same MULTI tells them apart.
      const { start, end } = range;
      if (end !== undefined && end <= start) {
        return (await client.exists(objectKey)) === 1 ? new Uint8Array(0) : undefined;
      }
      // GETRANGE's end is inclusive and -1 means "the last byte"; past the end Redis clamps,
      // and a start past the end gives "".
      const [exists, bytes] = await execute(client.multi().exists(objectKey).getrangeBuffer(objectKey, start, end === undefined ? -1 : end - 1));
      return exists === 1 ? (plainBytes(bytes as Buffer) ?? new Uint8Array(0)) : undefined;
    });
  }

  async head(key: string, options: StorageOperationOptions = {}): Promise<StorageObjectInfo | undefined> {
    const { signal } = options;
    this.prepare(key, signal);
    return this.run('inspect', key, signal, async (client) => {
      const objectKey = this.objectPrefix + key;
      const [exists, size, modified] = await execute(client.multi().exists(objectKey).strlen(objectKey).hget(this.modifiedKey, key));
      if (exists !== 1) return undefined;
      const modifiedMs = Number(modified);
      return { key, size: Number(size), ...(modified !== null && Number.isFinite(modifiedMs) ? { modifiedMs } : {}) };
    });
  }

  async put(key: string, body: StorageBody, options: StoragePutOptions = {}): Promise<void> {
    const { signal } = options;
    this.prepare(key, signal);
    const bytes = await collectBounded(key, body, signal);
    await this.run('write', key, signal, async (client) => {
      const objectKey = this.objectPrefix + key;
      await execute(client.multi().set(objectKey, bytes).zadd(this.indexKey, 0, key).hset(this.modifiedKey, key, Date.now()));
    });
  }

  async create(key: string, body: Uint8Array, options: StoragePutOptions = {}): Promise<boolean> {
    const { signal } = options;
    this.prepare(key, signal);
    const bytes = await collectBounded(key, body, signal);
    return this.run('create', key, signal, async (client) => {
      const objectKey = this.objectPrefix + key;
      // SET NX decides the winner inside one MULTI. For the loser, ZADD of an indexed key and
      // HSETNX of an existing time change nothing, so the existing object stays untouched.
      const [created] = await execute(
        client.multi().set(objectKey, bytes, 'NX').zadd(this.indexKey, 0, key).hsetnx(this.modifiedKey, key, Date.now()),
      );
      return created === 'OK';
    });
  }

  async delete(keys: readonly string[], options: StorageOperationOptions = {}): Promise<void> {
    const { signal } = options;
    this.assertUsable();
    throwIfAborted(signal);
    // Refuse the whole batch before touching anything if one key is unsafe.
    for (const key of keys) assertValidStorageKey(key);
    const unique = [...new Set(keys)];
    for (let first = 0; first < unique.length; first += DELETE_BATCH_SIZE) {
      const batch = unique.slice(first, first + DELETE_BATCH_SIZE);
      await this.run('delete', batch[0]!, signal, async (client) => {
        const objectKeys = batch.map((key) => this.objectPrefix + key);
        await execute(client.multi().del(...objectKeys).zrem(this.indexKey, ...batch).hdel(this.modifiedKey, ...batch));
      });
    }
  }

  async list(prefix: string, options: StorageListOptions = {}): Promise<StorageListPage> {
    const { signal } = options;
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(prefix, true);
    const limit = listPageLimit(options.limit, LIST_PAGE_SIZE);
    const after = options.cursor === undefined ? undefined : decodeKeyCursor(options.cursor, prefix, 'RedisStorage');
    const { lower, upper } = listBounds(prefix, after);
    return this.run('list keys under', prefix, signal, async (client) => {
      const reply = await client.fanoutListPage(this.indexKey, this.modifiedKey, lower, upper, limit, this.objectPrefix);
      const { cursorKey, objects } = parseListReply(reply);
      return cursorKey === undefined ? { objects } : { objects, cursor: encodeKeyCursor(cursorKey) };
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const client = await this.client?.catch(() => undefined);
    if (!client) return;
    try {
      // QUIT lets the replies to commands already sent arrive before the connection closes.
      await client.quit();
    } catch {
      client.disconnect();
    }
  }

  /** Check the instance, the signal and the key. */
  private prepare(key: string, signal: AbortSignal | undefined): void {
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(key);
  }

  private assertUsable(): void {
    if (this.disposed) throw disposedError('Redis storage');
  }

  /**
   * Run one operation with the connection, mapping every failure in one place. A Redis command
   * cannot be cancelled once sent, so an abort only stops the caller waiting for it.
   */
  private async run<T>(operation: string, key: string, signal: AbortSignal | undefined, work: (client: ScriptedRedis) => Promise<T>): Promise<T> {
    try {
      const client = await this.connection();
      return await untilAborted(work(client), signal);
    } catch (error) {
      throw mapRedisError(error, { operation, key, server: this.server, signal, lastConnectionError: this.lastConnectionError });
    }
  }

  /** The client, created on first use so that loading the plugin costs nothing until storage is used. */
  private connection(): Promise<ScriptedRedis> {
    this.client ??= this.connect();
    return this.client;
  }

  private async connect(): Promise<ScriptedRedis> {
    const { Redis } = await import('ioredis');
    const client = new Redis(this.options.url, {
      lazyConnect: true,
      connectTimeout: this.options.connectTimeoutMs,
      commandTimeout: this.options.commandTimeoutMs,
      // Core owns retries: a command issued while the server is unreachable fails at the first
      // failed reconnection instead of waiting in ioredis's queue through 20 of them.
      maxRetriesPerRequest: 0,
      // A command in flight when the connection dropped may or may not have run. Resending it
      // would turn a successful create into a "false"; failing it lets core decide.
      autoResendUnfulfilledCommands: false,
      // Keep reconnecting in the background, so the first request after an outage succeeds.
      retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    });
    // Without a listener ioredis prints every connection error; keeping the last one lets a
    // failed command say why the server could not be reached.
    client.on('error', (error: Error) => {
      this.lastConnectionError = error;
    });
    client.on('ready', () => {
      this.lastConnectionError = undefined;
    });
    client.defineCommand('fanoutListPage', { numberOfKeys: 2, lua: LIST_PAGE_SCRIPT });
    return client as ScriptedRedis;
  }
}

/** Run a MULTI and return each command's reply, rejecting with the first command's error. */
async function execute(transaction: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const replies = await transaction.exec();
  // exec() resolves null only when a WATCHed key changed; this adapter never WATCHes.
  if (replies === null) throw new Error('The Redis transaction was discarded.');
  return replies.map(([error, reply]) => {
    if (error) throw error;
    return reply;
  });
}

/** Resolve or reject with `work`, or reject with `ABORTED` as soon as the signal fires. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The whole body as one Buffer (no copy for bytes), refusing more than a Redis string holds. */
async function collectBounded(key: string, body: StorageBody, signal: AbortSignal | undefined): Promise<Buffer> {
  if (body instanceof Uint8Array) {
    if (body.byteLength > MAX_OBJECT_BYTES) throw objectTooLargeError(key, body.byteLength, MAX_OBJECT_BYTES);
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }
  // Counted while reading, so an oversized or endless stream fails before it exhausts memory.
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    throwIfAborted(signal);
    size += chunk.byteLength;
    if (size > MAX_OBJECT_BYTES) throw objectTooLargeError(key, size, MAX_OBJECT_BYTES);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}


/** A plain `Uint8Array` view (no copy) of a reply, so callers compare and clone it like any other backend's bytes. */
function plainBytes(buffer: Buffer | null): Uint8Array | undefined {
  return buffer === null ? undefined : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
