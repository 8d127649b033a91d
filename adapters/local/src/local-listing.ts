/**
 * Listing a folder tree in the order object stores use: ascending UTF-8 bytes of the whole key,
 * resumable after any key, reading only the folders that can hold matching keys.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted } from '@fanout/adapter-kit';
import { isMissingObject } from './local-errors.js';

/** Most keys one `list` page returns, the same as S3 and GCS so that callers see one page size. */
export const LIST_PAGE_SIZE = 1000;

/** An object found by the walk: its key and its file. */
export type ListCandidate = { key: string; path: string };

/**
 * Yield the files under `<objectsDirectory>/<folderKey>` (`folderKey` is `""` or ends in `/`)
 * whose name in that first folder starts with `nameFilter`, and whose key sorts after `after`,
 * in UTF-8 byte order of their keys.
 */
export async function* walkInKeyOrder(
  objectsDirectory: string,
  folderKey: string,
  nameFilter: string,
  after: Buffer | undefined,
  signal: AbortSignal | undefined,
): AsyncGenerator<ListCandidate> {
  throwIfAborted(signal);
  const folder = join(objectsDirectory, ...folderKey.split('/'));
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (isMissingObject(error)) return;
    throw error;
  }
  // A folder sorts as its name plus "/", the prefix every key inside it shares, so sorting the
  // entries that way and recursing in order yields the keys in global byte order ("a-b" < "a/x" < "a0").
  const ordered = entries
    .filter((entry) => entry.name.startsWith(nameFilter))
    .filter((entry) => entry.isDirectory() || entry.isFile() || entry.isSymbolicLink())
    .map((entry) => {
      const isFolder = entry.isDirectory();
      const key = folderKey + entry.name;
      return { key, isFolder, path: join(folder, entry.name), order: Buffer.from(isFolder ? `${key}/` : key) };
    })
    .sort((left, right) => Buffer.compare(left.order, right.order));
  for (const entry of ordered) {
    if (!entry.isFolder) {
      if (!after || Buffer.compare(entry.order, after) > 0) yield { key: entry.key, path: entry.path };
      continue;
    }
    if (!after || Buffer.compare(entry.order, after) > 0) {
      yield* walkInKeyOrder(objectsDirectory, `${entry.key}/`, '', undefined, signal);
    } else if (startsWith(after, entry.order)) {
      // The cursor is inside this folder: only the part after it is still to come.
      yield* walkInKeyOrder(objectsDirectory, `${entry.key}/`, '', after, signal);
    }
    // Otherwise the whole folder sorts before the cursor and was listed already.
  }
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  return bytes.byteLength >= prefix.byteLength && bytes.subarray(0, prefix.byteLength).equals(prefix);
}
