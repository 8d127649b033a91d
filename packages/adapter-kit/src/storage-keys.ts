import { ErrorCode, FanoutError } from '@fanout/spec';

/** Longest key accepted, in UTF-8 bytes: the smallest limit of the stores we target (S3, GCS: 1024). */
export const MAX_STORAGE_KEY_BYTES = 1024;

// Control characters break listings and file systems; a backslash is a separator on Windows.
// eslint-disable-next-line no-control-regex
const forbiddenCharacters = /[\u0000-\u001f\u007f\\]/;

/**
 * Throw `STORAGE_KEY_INVALID` unless `key` is safe on every store: a non-empty relative
 * `/`-separated path with no empty, `.` or `..` segment, no backslash or control character, at
 * most {@link MAX_STORAGE_KEY_BYTES} bytes. Unicode and spaces are fine.
 *
 * A trailing `/` is allowed only when `allowPrefix` is set (listing prefixes), and an empty
 * prefix means "everything".
 */
export function assertValidStorageKey(key: string, allowPrefix = false): void {
  const refuse = (why: string): never => {
    throw new FanoutError(
      `Storage key ${JSON.stringify(key)} is not allowed: ${why}. Use a relative path of "/"-separated names, such as "data/part-0001.json".`,
      { code: ErrorCode.STORAGE_KEY_INVALID, fault: 'caller' },
    );
  };
  if (typeof key !== 'string') refuse('it is not a string');
  if (key === '') {
    if (allowPrefix) return;
    refuse('it is empty');
  }
  if (Buffer.byteLength(key, 'utf8') > MAX_STORAGE_KEY_BYTES) refuse(`it is longer than ${MAX_STORAGE_KEY_BYTES} bytes`);
  if (forbiddenCharacters.test(key)) refuse('it contains a backslash or a control character');
  if (key.startsWith('/')) refuse('it is absolute (starts with "/")');
  const segments = key.split('/');
  if (allowPrefix && segments.at(-1) === '') segments.pop();
  for (const segment of segments) {
    if (segment === '') refuse('it has an empty path segment ("//" or a trailing "/")');
    if (segment === '.' || segment === '..') refuse(`it has a "${segment}" segment`);
  }
}
