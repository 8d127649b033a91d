import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { capability, conformanceTest, method } from '../support/conformance-test.js';
import { expectSameBytes, utf8 } from '../support/expectations.js';
import { openStorageSession, readStorageDeclaration } from './storage-session.js';

/** Creates racing for one key. */
export const RACING_CREATES = 20;

/**
 * Conditional create, on which first-writer-wins result records rest: `create` writes an absent
 * key and returns `true`, returns `false` for an existing key and leaves it untouched, and (where
 * `capabilities.conditionalCreate` is declared) exactly one of many racing creates wins.
 */
export function describeStorageConditionalCreate(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('storage: conditional create', async () => {
    const declared = await readStorageDeclaration(factory);
    const session = openStorageSession(factory, resolved);
    const hasCreate = method('create', declared.hasCreate);

    conformanceTest(resolved, 'a backend declaring capabilities.conditionalCreate has a create() method', { timeoutMs: 5_000 }, async () => {
      expect(!declared.capabilities.conditionalCreate || declared.hasCreate).toBe(true);
    });

    conformanceTest(resolved, 'create writes an absent key and returns true', { timeoutMs: 10_000, requires: [hasCreate] }, async () => {
      const key = session.key('create/absent');
      expect(await session.storage.create!(key, utf8('created'))).toBe(true);
      expectSameBytes(await session.storage.get(key), utf8('created'));
      if (resolved.probe) expectSameBytes(await resolved.probe.read(key), utf8('created'), 'the bytes the store holds (probe)');
    });

    conformanceTest(resolved, 'create on an existing key returns false and leaves the object untouched, whether create or put wrote it', { timeoutMs: 10_000, requires: [hasCreate], behaviour: 'conditional-create' }, async () => {
      const key = session.key('create/sequential');
      expect(await session.storage.create!(key, utf8('first'))).toBe(true);
      expect(await session.storage.create!(key, utf8('second, which must not land'))).toBe(false);
      expectSameBytes(await session.storage.get(key), utf8('first'), 'the object after a losing create');
      if (resolved.probe) expectSameBytes(await resolved.probe.read(key), utf8('first'), 'the bytes the store holds (probe)');

      const put = session.key('create/after-put');
      await session.storage.put(put, utf8('written by put'));
      expect(await session.storage.create!(put, utf8('create over put'))).toBe(false);
      expectSameBytes(await session.storage.get(put), utf8('written by put'), 'an object written by put, after a losing create');
    });

    conformanceTest(resolved, `of ${RACING_CREATES} concurrent creates of one key exactly one returns true, and its bytes are stored`, { timeoutMs: 30_000, requires: [hasCreate, capability('conditionalCreate', declared.capabilities.conditionalCreate)], behaviour: ['conditional-create', 'conditional-create-race'] }, async () => {
      // Several rounds, because a race that is lost only sometimes must still be caught.
      for (let round = 0; round < 3; round += 1) {
        const key = session.key(`create/race-${round}`);
        const bodies = Array.from({ length: RACING_CREATES }, (_, index) => utf8(`creator ${index} of round ${round}`));
        const created = await Promise.all(bodies.map((body) => session.storage.create!(key, body)));
        const winners = created.flatMap((won, index) => (won ? [index] : []));
        expect(winners.length, `creates that returned true in round ${round}`).toBe(1);
        expectSameBytes(await session.storage.get(key), bodies[winners[0]!]!, `the object after round ${round}`);
        if (resolved.probe) expectSameBytes(await resolved.probe.read(key), bodies[winners[0]!]!, 'the bytes the store holds (probe)');
      }
    });
  });
}
