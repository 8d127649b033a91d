import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { abortError, assertByteRange, disposedError, assertValidStorageKey, decodeKeyCursor, encodeKeyCursor, listPageLimit, throwIfAborted } from '@fanout/adapter-kit';
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
import { errnoCode, isMissingObject, keyConflictError, mapFileSystemError } from './local-errors.js';
import { LIST_PAGE_SIZE, walkInKeyOrder, type ListCandidate } from './local-listing.js';
import { writeAll } from './write-all.js';

/** The module specifier another process imports to recreate a {@link LocalStorage}. */
export const LOCAL_ADAPTER_MODULE = '@fanout/adapter-local';

/** How many files `delete` removes at once: enough to overlap I/O, few enough not to exhaust descriptors. */
const DELETE_CONCURRENCY = 16;

/** Temporary files older than this are left over from a process that died mid-write. */
const STALE_TEMPORARY_MS = 24 * 60 * 60 * 1000;

/** How often a write retries when a concurrent `delete` pruned the folder it was moving into. */
const PARENT_RACE_ATTEMPTS = 5;

/** What a {@link LocalStorage} is built from. */
export type LocalStorageSettings = {
  /** The storage folder. A relative path is resolved against the working directory. */
  root: string;
};

/**
 * Object storage over a folder: each object is the file `<root>/objects/<key>`, written to
 * `<root>/tmp/` first and moved into place, so readers see the old or the new bytes, never a mix,
 * and a listing never shows a half-written object.
 *
 * One key cannot be both an object and the folder of other objects (`a` and `a/b`), since the
 * objects are plain files; such a write fails with `STORAGE_KEY_INVALID`. On a case-insensitive
 * file system (macOS, Windows defaults) keys differing only in case are the same object.
 */
export class LocalStorage implements StorageBackendV1 {
  readonly specificationVersion = 'v1';
  readonly name = 'local';
  readonly capabilities: StorageCapabilitiesV1 = {
    conditionalCreate: true,
    streaming: true,
    listPageSize: LIST_PAGE_SIZE,
    // A folder on the user's own machine: no request or transfer is billed.
    prices: { perWriteUsd: 0, perReadUsd: 0, egressPerGbUsd: 0 },
  };
  /** The absolute storage folder. */
  readonly root: string;
  /** How another process (a local worker) opens this same storage. Holds no secrets. */
  readonly reference: StorageReferenceV1;

  private readonly objectsDirectory: string;
  private readonly temporaryDirectory: string;
  private disposed = false;
  private staleSweep: Promise<void> | undefined;

  constructor(settings: LocalStorageSettings) {
    if (typeof settings?.root !== 'string' || settings.root === '') {
      throw new TypeError('LocalStorage needs settings.root, the folder to keep objects in.');
    }
    this.root = resolve(settings.root);
    this.objectsDirectory = join(this.root, 'objects');
    this.temporaryDirectory = join(this.root, 'tmp');
    this.reference = { module: LOCAL_ADAPTER_MODULE, options: { root: this.root } };
  }

  async get(key: string, options: StorageGetOptions = {}): Promise<Uint8Array | undefined> {
    const { signal, range } = options;
    const path = this.prepare(key, signal);
    if (range) assertByteRange(range);
    try {
      // A whole object is a range from 0: one read of its size, where readFile reads 512 KiB at a time.
      return await readRange(path, range ?? { start: 0 }, signal);
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw mapFileSystemError(error, { operation: 'read', key, signal });
    }
  }

  async getStream(key: string, options: StorageGetOptions = {}): Promise<AsyncIterable<Uint8Array> | undefined> {
    const { signal, range } = options;
    const path = this.prepare(key, signal);
    if (range) assertByteRange(range);
    if (!(await this.statObject(key, path, signal))) return undefined;
    // Open lazily, so a stream the caller never iterates holds no file handle.
    return streamFile(path, key, range, signal);
  }

  async head(key: string, options: StorageOperationOptions = {}): Promise<StorageObjectInfo | undefined> {
    const path = this.prepare(key, options.signal);
    const stats = await this.statObject(key, path, options.signal);
    return stats && { key, size: stats.size, modifiedMs: stats.mtimeMs };
  }

  async put(key: string, body: StorageBody, options: StoragePutOptions = {}): Promise<void> {
    const { signal } = options;
    const path = this.prepare(key, signal);
    const temporary = await this.writeTemporary(key, body, signal);
    try {
      await this.moveIntoPlace(key, temporary, path, 'replace', signal);
    } catch (error) {
      // Once renamed the temporary file is the object; only a failed move leaves it behind.
      await removeQuietly(temporary);
      throw error;
    }
  }

  async create(key: string, body: Uint8Array, options: StoragePutOptions = {}): Promise<boolean> {
    const { signal } = options;
    const path = this.prepare(key, signal);
    const temporary = await this.writeTemporary(key, body, signal);
    try {
      // link() fails with EEXIST when the name is taken: an atomic first-writer-wins, and the
      // object appears complete because its bytes were written before the name existed.
      return await this.moveIntoPlace(key, temporary, path, 'create', signal);
    } finally {
      await removeQuietly(temporary);
    }
  }

  async delete(keys: readonly string[], options: StorageOperationOptions = {}): Promise<void> {
    const { signal } = options;
    this.assertUsable();
    throwIfAborted(signal);
    // Refuse the whole batch before touching anything if one key is unsafe.
    for (const key of keys) assertValidStorageKey(key);
    const pending = [...new Set(keys)];
    const removeNext = async (): Promise<void> => {
      for (let key = pending.pop(); key !== undefined; key = pending.pop()) {
        throwIfAborted(signal);
        await this.deleteOne(key, signal);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, pending.length) }, removeNext));
  }

  async list(prefix: string, options: StorageListOptions = {}): Promise<StorageListPage> {
    const { signal } = options;
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(prefix, true);
    const limit = listPageLimit(options.limit, LIST_PAGE_SIZE);
    const after = options.cursor === undefined ? undefined : Buffer.from(decodeKeyCursor(options.cursor, prefix, 'LocalStorage'), 'utf8');
    // Only the folder the prefix points into can hold matches; its last segment filters names.
    const slash = prefix.lastIndexOf('/');
    const candidates: ListCandidate[] = [];
    try {
      const walk = walkInKeyOrder(this.objectsDirectory, prefix.slice(0, slash + 1), prefix.slice(slash + 1), after, signal);
      for await (const candidate of walk) {
        candidates.push(candidate);
        if (candidates.length > limit) break;
      }
      const page = candidates.slice(0, limit);
      const infos = await Promise.all(page.map((candidate) => this.statObject(candidate.key, candidate.path, signal)));
      const objects: StorageObjectInfo[] = [];
      infos.forEach((stats, index) => {
        // An object deleted between the folder read and the stat is simply not listed.
        if (stats) objects.push({ key: page[index]!.key, size: stats.size, modifiedMs: stats.mtimeMs });
      });
      const last = page.at(-1);
      return candidates.length > limit && last ? { objects, cursor: encodeKeyCursor(last.key) } : { objects };
    } catch (error) {
      throw mapFileSystemError(error, { operation: 'list', key: prefix, signal });
    }
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.staleSweep;
  }

  /** Check the instance, the signal and the key; return the object's file path. */
  private prepare(key: string, signal: AbortSignal | undefined): string {
    this.assertUsable();
    throwIfAborted(signal);
    assertValidStorageKey(key);
    return join(this.objectsDirectory, ...key.split('/'));
  }

  private assertUsable(): void {
    if (this.disposed) throw disposedError('local storage');
  }

  private async statObject(key: string, path: string, signal: AbortSignal | undefined) {
    try {
      const stats = await stat(path);
      return stats.isFile() ? stats : undefined;
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw mapFileSystemError(error, { operation: 'inspect', key, signal });
    }
  }

  private async writeTemporary(key: string, body: StorageBody, signal: AbortSignal | undefined): Promise<string> {
    const temporary = join(this.temporaryDirectory, `${randomUUID()}.partial`);
    try {
      // Recreated on every write: cheap when present, and the root may be wiped while we run.
      await mkdir(this.temporaryDirectory, { recursive: true });
      this.staleSweep ??= sweepStaleTemporaryFiles(this.temporaryDirectory);
      await writeNewFile(temporary, body, signal);
      return temporary;
    } catch (error) {
      await removeQuietly(temporary);
      throw mapFileSystemError(error, { operation: 'write', key, signal });
    }
  }

  private async moveIntoPlace(
    key: string,
    temporary: string,
    path: string,
    mode: 'replace' | 'create',
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    for (let attempt = 1; ; attempt += 1) {
      throwIfAborted(signal);
      try {
        await mkdir(dirname(path), { recursive: true });
      } catch (error) {
        const code = errnoCode(error);
        // Some segment of the key's folder is an object already.
        if (code === 'EEXIST' || code === 'ENOTDIR') throw keyConflictError(key, error);
        throw mapFileSystemError(error, { operation: 'write', key, signal });
      }
      try {
        if (mode === 'replace') await rename(temporary, path);
        else await link(temporary, path);
        return true;
      } catch (error) {
        const code = errnoCode(error);
        // A concurrent delete pruned the now-empty parent folder between mkdir and the move.
        if (code === 'ENOENT' && attempt < PARENT_RACE_ATTEMPTS) continue;
        if (code === 'EEXIST' && mode === 'create' && !(await isDirectory(path))) return false;
        if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY') {
          throw keyConflictError(key, error);
        }
        throw mapFileSystemError(error, { operation: 'write', key, signal });
      }
    }
  }

  private async deleteOne(key: string, signal: AbortSignal | undefined): Promise<void> {
    const path = join(this.objectsDirectory, ...key.split('/'));
    try {
      await unlink(path);
    } catch (error) {
      // A key that names a folder of other objects is not an object: nothing to delete.
      if (isMissingObject(error) || (errnoCode(error) === 'EPERM' && (await isDirectory(path)))) return;
      throw mapFileSystemError(error, { operation: 'delete', key, signal });
    }
    // Empty folders are invisible to listings but would pile up over many jobs.
    for (let folder = dirname(path); folder.startsWith(this.objectsDirectory + sep); folder = dirname(folder)) {
      try {
        await rmdir(folder);
      } catch {
        return; // not empty (or already gone): the folders above are not empty either
      }
    }
  }
}

/**
 * Bytes of a streamed body gathered before one vectored write. A job object arrives as thousands
 * of small parts: written one by one they would cost a system call (and a thread-pool round trip)
 * each, and joined into blocks they would be copied once more on the client.
 */
const WRITE_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * Write a body to a file that must not exist yet. A `Uint8Array` is one write (not cut into pieces
 * as `writeFile` does); a stream is written in batches of its own chunks, referenced rather than
 * copied, so memory stays at about one batch.
 */
async function writeNewFile(path: string, body: StorageBody, signal: AbortSignal | undefined): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    if (body instanceof Uint8Array) {
      await writeAll(handle, [body]);
      return;
    }
    let batch: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of body) {
      throwIfAborted(signal);
      batch.push(chunk);
      size += chunk.byteLength;
      if (size >= WRITE_BATCH_BYTES) {
        await writeAll(handle, batch);
        batch = [];
        size = 0;
      }
    }
    if (size > 0) await writeAll(handle, batch);
  } finally {
    await handle.close();
  }
}

/** The bytes `[range.start, range.end)` of the file, clamped to its size, read without the rest. */
async function readRange(path: string, range: ByteRange, signal: AbortSignal | undefined): Promise<Uint8Array | undefined> {
  const handle = await open(path, 'r');
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return undefined;
    const end = Math.min(range.end ?? stats.size, stats.size);
    const length = Math.max(0, end - range.start);
    const bytes = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      throwIfAborted(signal);
      const { bytesRead } = await handle.read(bytes, filled, length - filled, range.start + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? bytes : bytes.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

async function* streamFile(
  path: string,
  key: string,
  range: ByteRange | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const start = range?.start ?? 0;
  const end = range?.end;
  if (end !== undefined && end <= start) return;
  // createReadStream's end is inclusive and is clamped to the file's size.
  const stream = createReadStream(path, { start, ...(end === undefined ? {} : { end: end - 1 }) });
  const onAbort = () => stream.destroy(abortError(signal));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    throwIfAborted(signal);
    for await (const chunk of stream as AsyncIterable<Buffer>) yield plainBytes(chunk);
  } catch (error) {
    throw mapFileSystemError(error, { operation: 'stream', key, signal });
  } finally {
    signal?.removeEventListener('abort', onAbort);
    stream.destroy();
  }
}

/** A plain `Uint8Array` view (no copy), so callers compare and clone it like any other backend's bytes. */
function plainBytes(buffer: Buffer): Uint8Array {
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // Already moved into place (rename) or never written: nothing to clean up.
  }
}

/** Remove temporary files a killed process left behind. Best effort: a failure changes nothing visible. */
async function sweepStaleTemporaryFiles(folder: string): Promise<void> {
  try {
    const cutoff = Date.now() - STALE_TEMPORARY_MS;
    for (const name of await readdir(folder)) {
      const path = join(folder, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats && stats.mtimeMs < cutoff) await removeQuietly(path);
    }
  } catch {
    // The folder may be gone or unreadable; the next write reports real problems.
  }
}
