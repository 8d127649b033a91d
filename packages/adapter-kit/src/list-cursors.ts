/**
 * Listing cursors for stores that resume a listing with a token of their own (S3's continuation
 * token, Cloud Storage's page token, Blob Storage's continuation marker). The cursor names the
 * prefix it pages through as well as the token, so a cursor the backend did not return for this
 * prefix is refused with a `TypeError` (the contract), instead of reaching the store as an
 * invalid token or, on some S3-compatible stores, an empty page. Stores that can resume after
 * any key use `encodeKeyCursor` instead.
 */

/** The cursor a listing of `prefix` returns when the store's next page starts at `token`. */
export function encodeTokenCursor(token: string, prefix: string): string {
  return Buffer.from(JSON.stringify({ prefix, token })).toString('base64url');
}

/** The store's token in a cursor from {@link encodeTokenCursor} for `prefix`; a `TypeError` naming `backend` otherwise. */
export function decodeTokenCursor(cursor: string, prefix: string, backend: string): string {
  let decoded: { prefix?: unknown; token?: unknown } | undefined;
  try {
    decoded = JSON.parse(Buffer.from(String(cursor), 'base64url').toString('utf8')) as typeof decoded;
  } catch {
    decoded = undefined;
  }
  if (decoded?.prefix !== prefix || typeof decoded.token !== 'string' || decoded.token === '') {
    throw new TypeError(`${JSON.stringify(cursor)} is not a cursor ${backend}.list returned for the prefix ${JSON.stringify(prefix)}.`);
  }
  return decoded.token;
}
