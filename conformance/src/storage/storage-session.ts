import { resolveStorageCapabilities, type StorageBackendV1, type ResolvedStorageCapabilities } from '@fanout/spec';
import { afterAll, beforeAll } from 'vitest';
import type { ResolvedEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';

/** What a storage backend declares: its capabilities with defaults applied, and which optional methods it has. */
export type StorageDeclaration = {
  name: string;
  capabilities: ResolvedStorageCapabilities;
  hasCreate: boolean;
  hasGetStream: boolean;
  hasDispose: boolean;
};

/**
 * Read a backend's declaration from an instance made for that purpose only, then dispose it. Done
 * while the suite is collected, because test titles and skips depend on it.
 */
export async function readStorageDeclaration(factory: StorageFactory): Promise<StorageDeclaration> {
  const storage = await factory();
  try {
    return describeStorage(storage);
  } finally {
    await storage.dispose?.();
  }
}

/** What an instance declares. */
export function describeStorage(storage: StorageBackendV1): StorageDeclaration {
  return {
    name: storage.name,
    capabilities: resolveStorageCapabilities(storage.capabilities ?? {}),
    hasCreate: typeof storage.create === 'function',
    hasGetStream: typeof storage.getStream === 'function',
    hasDispose: typeof storage.dispose === 'function',
  };
}

/** One group's storage instance and its private namespace. */
export type StorageSession = {
  /** The instance under test; available inside tests and hooks. */
  readonly storage: StorageBackendV1;
  /** The group's random namespace: every key it writes starts with `${namespace}/`. */
  readonly namespace: string;
  /** A key in the namespace. */
  key(name: string): string;
};

/**
 * Give a group a fresh instance (made before its first test) and a random namespace, and delete
 * everything under the namespace, then dispose the instance, after its last test.
 */
export function openStorageSession(factory: StorageFactory, environment: ResolvedEnvironment): StorageSession {
  const namespace = environment.newNamespace();
  let instance: StorageBackendV1 | undefined;
  beforeAll(async () => {
    instance = await factory();
  }, environment.scaled(30_000));
  afterAll(async () => {
    if (!instance) return;
    try {
      await deleteUnderPrefix(instance, `${namespace}/`);
    } finally {
      await instance.dispose?.();
    }
  }, environment.scaled(60_000));
  return {
    get storage() {
      if (!instance) throw new Error('The storage under test is used before its group started.');
      return instance;
    },
    namespace,
    key: (name) => `${namespace}/${name}`,
  };
}

/**
 * Delete every object under `prefix`, page by page. Best effort: cleanup must not hide a test's own
 * failure, and a broken backend may not let everything be found.
 */
export async function deleteUnderPrefix(storage: StorageBackendV1, prefix: string): Promise<void> {
  let previousFirst: string | undefined;
  // Each round deletes the first page; a backend whose delete does nothing returns the same page
  // again, which ends the loop instead of spinning.
  for (let round = 0; round < 10_000; round += 1) {
    const page = await storage.list(prefix).catch(() => undefined);
    const keys = page?.objects.map((object) => object.key) ?? [];
    if (!keys.length || keys[0] === previousFirst) return;
    previousFirst = keys[0];
    await storage.delete(keys).catch(() => undefined);
  }
}
