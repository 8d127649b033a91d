import type { ByteRange } from '@fanout/spec';

/**
 * Checks of the arguments every storage backend receives, so that each refuses the same
 * programmer's mistakes with the same `TypeError` (the contract in `@fanout/spec`'s storage.ts).
 */

/** Throw `TypeError` unless `range` has a whole, non-negative `start` and, if given, `end`. */
export function assertByteRange(range: ByteRange): void {
  const validStart = Number.isSafeInteger(range?.start) && range.start >= 0;
  const validEnd = range?.end === undefined || (Number.isSafeInteger(range.end) && range.end >= 0);
  if (!validStart || !validEnd) {
    throw new TypeError(`A byte range needs a whole, non-negative start and optional end, got ${JSON.stringify(range)}.`);
  }
}

/**
 * The page size for a caller's `limit`: the backend's own `pageSize` when there is none, and never
 * more than it. A limit that is not a whole number of at least 1 is a `TypeError`.
 */
export function listPageLimit(limit: number | undefined, pageSize: number): number {
  if (limit === undefined) return pageSize;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TypeError(`A list limit must be a whole number of at least 1, got ${String(limit)}.`);
  }
  return Math.min(limit, pageSize);
}

/**
 * A cursor for a store that can resume a listing after any key: the last key returned, opaque to
 * callers. Resuming after a key rather than at a position keeps a listing correct while objects
 * are written or deleted between pages.
 */
export function encodeKeyCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

/**
 * The key a cursor from {@link encodeKeyCursor} stands for. A cursor that is not one, or whose key
 * lies outside `prefix` (it comes from a listing of another prefix), is a programmer's mistake and
 * a `TypeError` naming `backend`: resuming from it would skip or repeat keys. A cursor made for a
 * longer prefix, whose key still starts with this one, is accepted: the listing resumes after
 * that key, as if this listing had returned it.
 */
export function decodeKeyCursor(cursor: string, prefix: string, backend: string): string {
  const key = typeof cursor === 'string' ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (key === '' || encodeKeyCursor(key) !== cursor || !key.startsWith(prefix)) {
    throw new TypeError(`${JSON.stringify(cursor)} is not a cursor ${backend}.list returned for the prefix ${JSON.stringify(prefix)}.`);
  }
  return key;
}
