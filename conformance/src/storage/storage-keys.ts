import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { conformanceTest } from '../support/conformance-test.js';
import { describeOutcome, expectSameBytes, settle, utf8 } from '../support/expectations.js';
import { type StorageSession, openStorageSession } from './storage-session.js';

/** Keys (below the group's namespace) that every store must hold and list exactly as written. */
const awkwardKeys: Readonly<Record<string, readonly string[]>> = {
  'unicode (accents, combining marks, CJK, emoji)': ['unicode/café', 'unicode/cafe\u0301', 'unicode/中文/文件', 'unicode/😀-emoji', 'unicode/Ωmega'],
  spaces: ['spaces/with spaces in it', 'spaces/ leading', 'spaces/double  space/x'],
  'punctuation and URL-significant characters': [
    "punctuation/!$&'()*+,;=@",
    'punctuation/percent %20 %2F %',
    'punctuation/question?mark#hash',
    'punctuation/[brackets]{braces}^`|~',
    'punctuation/.hidden',
    'punctuation/dots..inside',
    'punctuation/"quotes"<angle>',
  ],
  'deep paths': [`deep/${Array.from({ length: 24 }, (_, index) => `level-${index}`).join('/')}/leaf`],
};

/**
 * Keys no backend may accept, each below the namespace so that a backend which wrongly accepts one
 * writes inside the namespace rather than somewhere harmful.
 */
function unsafeKeys(namespace: string): Record<string, string> {
  return {
    empty: '',
    'a ".." segment': `${namespace}/unsafe/../escape`,
    'a trailing ".." segment': `${namespace}/unsafe/..`,
    'a "." segment': `${namespace}/unsafe/./dot`,
    'a leading "/"': `/${namespace}/unsafe/absolute`,
    'an empty segment ("a//b")': `${namespace}/unsafe//double`,
    'a trailing "/"': `${namespace}/unsafe/trailing/`,
    'a backslash': `${namespace}/unsafe\\backslash`,
    'a NUL character': `${namespace}/unsafe/nul\u0000`,
    'a newline': `${namespace}/unsafe/new\nline`,
    'a DEL character': `${namespace}/unsafe/del\u007f`,
  };
}

/**
 * Keys: awkward but legal keys (unicode, spaces, punctuation, deep paths) round-trip through put,
 * get, head and list exactly as written; unsafe keys (`..`, a leading `/`, `a//b`, a backslash, a
 * control character) are refused with `STORAGE_KEY_INVALID` by every operation, and nothing is
 * written.
 */
export function describeStorageKeys(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('storage: keys', () => {
    const session = openStorageSession(factory, resolved);

    for (const [category, names] of Object.entries(awkwardKeys)) {
      conformanceTest(resolved, `keys with ${category} round-trip through put, get, head and list exactly as written`, { timeoutMs: 30_000, behaviour: 'key-characters' }, async () => {
        await expectRoundTrip(session, names.map((name) => session.key(`keys/${name}`)));
      });
    }

    conformanceTest(resolved, 'unsafe keys are refused with STORAGE_KEY_INVALID by every operation, and nothing is written', { timeoutMs: 30_000 }, async () => {
      const { storage } = session;
      const problems: string[] = [];
      const expectRefused = async (operation: string, key: string, call: () => Promise<unknown>) => {
        const outcome = await settle(call());
        const refused = !outcome.ok && FanoutError.isInstance(outcome.error) && outcome.error.code === ErrorCode.STORAGE_KEY_INVALID;
        if (!refused) problems.push(`${operation}(${JSON.stringify(key)}) ${describeOutcome(outcome)}`);
      };
      for (const key of Object.values(unsafeKeys(session.namespace))) {
        await expectRefused('put', key, () => storage.put(key, utf8('must not be written')));
        await expectRefused('get', key, () => storage.get(key));
        await expectRefused('head', key, () => storage.head(key));
        await expectRefused('delete', key, () => storage.delete([key]));
        if (storage.create) await expectRefused('create', key, () => storage.create!(key, utf8('must not be written')));
        if (storage.getStream) await expectRefused('getStream', key, () => storage.getStream!(key));
      }
      for (const prefix of [`/${session.namespace}/`, `${session.namespace}/../`, `${session.namespace}//`, `${session.namespace}\\`]) {
        await expectRefused('list', prefix, () => storage.list(prefix));
      }
      expect(problems, 'operations that did not refuse an unsafe key with STORAGE_KEY_INVALID').toEqual([]);
      // A wrongly accepted key may have been normalized anywhere in the namespace ("a/../b" to "b").
      const page = await storage.list(`${session.namespace}/`);
      const strays = page.objects.map((object) => object.key).filter((key) => !key.startsWith(session.key('keys/')));
      expect(strays, 'objects written by refused operations').toEqual([]);
    });
  });
}

async function expectRoundTrip(session: StorageSession, keys: readonly string[]): Promise<void> {
  const { storage } = session;
  for (const key of keys) {
    await storage.put(key, utf8(key));
    expectSameBytes(await storage.get(key), utf8(key), `get(${JSON.stringify(key)})`);
    expect((await storage.head(key))?.size, `head(${JSON.stringify(key)}).size`).toBe(utf8(key).byteLength);
  }
  const listed: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await storage.list(session.key('keys/'), cursor === undefined ? {} : { cursor });
    listed.push(...page.objects.map((object) => object.key));
    cursor = page.cursor;
  } while (cursor !== undefined && listed.length < 10_000);
  for (const key of keys) expect(listed, `the listing holds ${JSON.stringify(key)} exactly as written`).toContain(key);
  await storage.delete(keys);
  for (const key of keys) expect(await storage.get(key), `get(${JSON.stringify(key)}) after delete`).toBeUndefined();
}
