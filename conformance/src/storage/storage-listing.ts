import type { StorageBackendV1, StorageListPage, StorageObjectInfo } from '@fanout/spec';
import { beforeAll, describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { conformanceTest } from '../support/conformance-test.js';
import { compareUtf8, expectTypeError, inBatches, utf8 } from '../support/expectations.js';
import { openStorageSession, readStorageDeclaration } from './storage-session.js';

/** Keys under the listed prefix: more than two pages at the default page size of 1000. */
export const LISTING_KEY_COUNT = 2500;

/** How many puts the setup keeps in flight. */
const WRITE_CONCURRENCY = 32;

/**
 * Characters whose UTF-8 order differs from JavaScript's UTF-16 order: U+FF61 sorts before an
 * emoji in UTF-16 (0xFF61 > 0xD83D is false) but after it in UTF-8 (0xEF < 0xF0).
 */
const orderingCharacters = ['a', 'Z', '~', ' ', 'é', '\uFF61', '😀', '中'];

/** The names (below the listed prefix) the group writes: zero-padded items, nested keys, and names that only sort right by bytes. */
function listedNames(): string[] {
  const names: string[] = [];
  for (const first of orderingCharacters) for (const second of orderingCharacters) names.push(`mixed/${first}${second}`);
  for (let index = 0; names.length < LISTING_KEY_COUNT - 20; index += 1) names.push(`item-${String(index).padStart(5, '0')}`);
  for (let index = 0; names.length < LISTING_KEY_COUNT; index += 1) names.push(`nested/deeper/item-${index}`);
  return names;
}

/**
 * Listing with a prefix over 2,500 keys: paging through cursors returns every key exactly once,
 * in ascending UTF-8 byte order, with correct sizes; a smaller `limit` is respected; a prefix is a
 * plain string prefix that matches nothing beside it.
 */
export function describeStorageListing(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('storage: listing', async () => {
    const declared = await readStorageDeclaration(factory);
    const session = openStorageSession(factory, resolved);
    const listed = (): string => session.key('list/');
    let expectedKeys: string[] = [];
    let siblingKeys: string[] = [];

    beforeAll(async () => {
      expectedKeys = listedNames().map((name) => `${listed()}${name}`);
      // Siblings share leading characters with the listed prefix but are not under it.
      siblingKeys = [session.key('list-sibling/item'), session.key('lisp/item'), session.key('lis')];
      await inBatches([...expectedKeys, ...siblingKeys], WRITE_CONCURRENCY, (key) => session.storage.put(key, utf8(key)));
      expectedKeys.sort(compareUtf8);
    }, resolved.scaled(180_000));

    conformanceTest(resolved, `paging through cursors returns each of ${LISTING_KEY_COUNT} keys exactly once, with its size`, { timeoutMs: 60_000 }, async () => {
      const pages = await listAll(session.storage, listed());
      for (const page of pages) expect(page.objects.length, 'objects on one page').toBeLessThanOrEqual(declared.capabilities.listPageSize);
      expectExactlyOnce(pages.flatMap((page) => page.objects), expectedKeys);
      expect(pages.length, 'pages for 2,500 keys').toBeGreaterThanOrEqual(Math.ceil(LISTING_KEY_COUNT / declared.capabilities.listPageSize));
    });

    conformanceTest(resolved, 'keys come back in ascending UTF-8 byte order, within and across pages', { timeoutMs: 60_000, behaviour: 'listing-order' }, async () => {
      const keys = (await listAll(session.storage, listed())).flatMap((page) => page.objects.map((object) => object.key));
      const outOfOrder = keys.findIndex((key, index) => index > 0 && compareUtf8(keys[index - 1]!, key) >= 0);
      expect(outOfOrder, outOfOrder < 0 ? '' : `${JSON.stringify(keys[outOfOrder - 1])} is listed before ${JSON.stringify(keys[outOfOrder])}`).toBe(-1);
      expect(keys).toEqual(expectedKeys);
    });

    conformanceTest(resolved, 'a smaller limit gives pages of at most that many keys, and still every key once', { timeoutMs: 60_000 }, async () => {
      const limit = 400;
      const pages = await listAll(session.storage, listed(), limit);
      for (const page of pages) expect(page.objects.length, `objects on a page with limit ${limit}`).toBeLessThanOrEqual(limit);
      expectExactlyOnce(pages.flatMap((page) => page.objects), expectedKeys);
    });

    conformanceTest(resolved, 'a prefix is a plain string prefix: it can end inside a name and matches nothing beside it', { timeoutMs: 60_000 }, async () => {
      const everything = [...expectedKeys, ...siblingKeys];
      for (const prefix of [session.key('list/item-0001'), session.key('list/mixed/é'), session.key('lisp'), session.key('list-'), session.key('lis')]) {
        const keys = (await listAll(session.storage, prefix)).flatMap((page) => page.objects.map((object) => object.key));
        const expected = everything.filter((key) => key.startsWith(prefix)).sort(compareUtf8);
        expect([...keys].sort(compareUtf8), `keys listed under ${JSON.stringify(prefix)}`).toEqual(expected);
      }
    });

    conformanceTest(resolved, 'a limit below 1, or a cursor the backend never returned, is refused as a programming mistake (TypeError)', { timeoutMs: 10_000 }, async () => {
      await expectTypeError(() => session.storage.list(listed(), { limit: 0 }), 'list with limit 0');
      await expectTypeError(() => session.storage.list(listed(), { cursor: '!!! not a cursor !!!' }), 'list with a cursor it never returned');
    });

    conformanceTest(resolved, 'listing a prefix with no objects returns an empty page without a cursor', { timeoutMs: 10_000 }, async () => {
      const page = await session.storage.list(session.key('nothing-here/'));
      expect(page.objects).toEqual([]);
      expect(page.cursor).toBeUndefined();
    });
  });
}

/** Every page of a listing, following cursors; gives up (failing) if the listing does not end. */
async function listAll(storage: StorageBackendV1, prefix: string, limit?: number): Promise<StorageListPage[]> {
  const pages: StorageListPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.list(prefix, { ...(cursor === undefined ? {} : { cursor }), ...(limit === undefined ? {} : { limit }) });
    pages.push(page);
    expect(pages.length, `pages listed under ${JSON.stringify(prefix)} (a cursor that never ends?)`).toBeLessThanOrEqual(LISTING_KEY_COUNT + 10);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return pages;
}

/** Each expected key listed once, none missing, none foreign, each with the size of its body (its own UTF-8 bytes). */
function expectExactlyOnce(objects: readonly StorageObjectInfo[], expectedKeys: readonly string[]): void {
  const counts = new Map<string, number>();
  for (const { key } of objects) counts.set(key, (counts.get(key) ?? 0) + 1);
  const expected = new Set(expectedKeys);
  const missing = expectedKeys.filter((key) => !counts.has(key));
  const repeated = [...counts].filter(([, count]) => count > 1).map(([key]) => key);
  const foreign = [...counts.keys()].filter((key) => !expected.has(key));
  expect({ missing: missing.length, repeated: repeated.length, foreign: foreign.length }, `missing ${JSON.stringify(missing.slice(0, 5))}, repeated ${JSON.stringify(repeated.slice(0, 5))}, foreign ${JSON.stringify(foreign.slice(0, 5))}`).toEqual({ missing: 0, repeated: 0, foreign: 0 });
  const wrongSize = objects.filter((object) => object.size !== utf8(object.key).byteLength);
  expect(wrongSize.map((object) => object.key).slice(0, 5), 'keys listed with a size other than their object\'s').toEqual([]);
}
