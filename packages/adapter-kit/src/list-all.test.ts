import type { StorageBackendV1, StorageListOptions } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { listAll } from './list-all.js';

/** A listing that answers two keys a page, with the next key as its cursor. */
function pagedStorage(keys: string[]): StorageBackendV1 & { pages: number } {
  const storage = {
    pages: 0,
    async list(prefix: string, options: StorageListOptions = {}) {
      storage.pages += 1;
      const matching = keys.filter((key) => key.startsWith(prefix)).sort();
      const start = options.cursor === undefined ? 0 : matching.indexOf(options.cursor);
      const page = matching.slice(start, start + 2);
      const next = matching[start + 2];
      return { objects: page.map((key) => ({ key, size: key.length })), ...(next === undefined ? {} : { cursor: next }) };
    },
  };
  return storage as unknown as StorageBackendV1 & { pages: number };
}

describe('listAll', () => {
  it('follows the cursor through every page and keeps only the prefix', async () => {
    const storage = pagedStorage(['a/1', 'a/2', 'a/3', 'a/4', 'a/5', 'b/1']);
    expect((await listAll(storage, 'a/')).map(({ key }) => key)).toEqual(['a/1', 'a/2', 'a/3', 'a/4', 'a/5']);
    expect(storage.pages).toBe(3);
  });

  it('returns nothing for an empty prefix listing', async () => {
    expect(await listAll(pagedStorage(['b/1']), 'a/')).toEqual([]);
  });
});
