/**
 * Every mapping of Node file-system and child-process failures to fanout error codes, in one
 * place, so that the storage and the pool classify the same failure the same way.
 */
import { tmpdir } from 'node:os';
import { abortError } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { transportWorkerError, type TransportedWorkerError } from '@fanout/worker';

/** The `code` of a Node system error (`ENOENT`, `EACCES`...), if it has one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Whether a failed read means "no such object". `ENOTDIR` happens when a parent segment of the
 * key is an object itself (`a` exists and `a/b` is asked for); `EISDIR` when the key names a
 * folder that only holds other objects.
 */
export function isMissingObject(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** What the storage was doing, for error messages. */
export type StorageFailureContext = {
  operation: string;
  key: string;
  signal?: AbortSignal | undefined;
};

/**
 * Turn a file-system failure into a `FanoutError`. Errors that already are one pass through.
 * Permission problems are the caller's to fix and not retryable, nor is a full disk; anything else
 * (too many open files, an I/O error) may pass, so it is `BACKEND_UNAVAILABLE` and retryable.
 */
export function mapFileSystemError(error: unknown, context: StorageFailureContext): FanoutError {
  if (FanoutError.isInstance(error)) return error;
  if (context.signal?.aborted || (error as { name?: unknown } | null)?.name === 'AbortError') {
    return abortError(context.signal);
  }
  const code = errnoCode(error);
  const detail = error instanceof Error ? error.message : String(error);
  const where = `Local storage could not ${context.operation} ${JSON.stringify(context.key)}`;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    // A read-only mount is a permission problem too: retrying cannot help.
    case 'EROFS':
      return new FanoutError(`${where}: permission denied (${detail}). Give this process write access to the storage root or choose another root.`, {
        code: ErrorCode.ACCESS_DENIED,
        fault: 'caller',
        cause: error,
      });
    case 'ENAMETOOLONG':
      return new FanoutError(`${where}: a path segment is longer than the file system allows (${detail}). Use key segments of at most 255 bytes.`, {
        code: ErrorCode.STORAGE_KEY_INVALID,
        fault: 'caller',
        cause: error,
      });
    case 'ENOSPC':
    case 'EDQUOT':
      // Retrying cannot free space; every other write would fail the same way meanwhile.
      return new FanoutError(
        `${where}: the disk is full (${detail}). Free space on it; on the storage root's disk, \`fanout clean --older-than 1d\` deletes finished jobs' inputs and results.`,
        { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: false, fault: 'backend', cause: error },
      );
    default:
      return new FanoutError(`${where}: ${detail}`, {
        code: ErrorCode.BACKEND_UNAVAILABLE,
        retryable: true,
        fault: 'backend',
        cause: error,
      });
  }
}

/**
 * A key that is both an object and the folder of other objects cannot be stored as files: the
 * local store refuses the second one instead of silently shadowing the first.
 */
export function keyConflictError(key: string, cause: unknown): FanoutError {
  return new FanoutError(
    `Local storage cannot store ${JSON.stringify(key)}: a key on its path is already an object, or the key is already a folder of other objects. The local store keeps objects as files, so "a" and "a/b" cannot both exist. Choose keys where no key is a folder of another.`,
    { code: ErrorCode.STORAGE_KEY_INVALID, fault: 'caller', cause },
  );
}

/**
 * The pool's private folder (working directory, temporary files, code bundles) could not be made
 * in the client's temporary folder. A permission problem or a full disk is not worth retrying.
 */
export function workerFolderError(cause: unknown): FanoutError {
  const code = errnoCode(cause);
  const detail = cause instanceof Error ? cause.message : String(cause);
  const where = `The local backend could not make the private folder of its worker processes in ${tmpdir()}`;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new FanoutError(`${where}: permission denied (${detail}). Give this user write access to it, or set TMPDIR to a folder it can write to.`, {
      code: ErrorCode.ACCESS_DENIED,
      fault: 'caller',
      cause,
    });
  }
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new FanoutError(`${where}: the disk is full (${detail}). Free space on it, or set TMPDIR to a folder on another disk.`, {
      code: ErrorCode.BACKEND_UNAVAILABLE,
      retryable: false,
      fault: 'backend',
      cause,
    });
  }
  return new FanoutError(`${where}: ${detail}`, { code: ErrorCode.WORKER_CRASHED, retryable: true, fault: 'backend', cause });
}

/**
 * Describe an error the worker threw so that the pool can rebuild it with `rebuildWorkerError`.
 * A bare file-system error comes from writing the code bundle to its temporary folder (a full or
 * unwritable disk) and is classified as such first.
 */
export function transportError(error: unknown): TransportedWorkerError {
  if (!FanoutError.isInstance(error) && /^E[A-Z0-9]+$/.test(errnoCode(error) ?? '')) {
    return transportWorkerError(mapFileSystemError(error, { operation: 'prepare the code bundle for', key: 'the worker' }), 'The local worker');
  }
  return transportWorkerError(error, 'The local worker');
}
