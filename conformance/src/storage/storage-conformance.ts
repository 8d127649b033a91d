import type { ConformanceEnvironment } from '../environment.js';
import type { StorageFactory } from '../factories.js';
import { describeStorageBasics } from './storage-basics.js';
import { describeStorageConcurrency } from './storage-concurrency.js';
import { describeStorageConditionalCreate } from './storage-conditional-create.js';
import { describeStorageKeys } from './storage-keys.js';
import { describeStorageLargeObjects } from './storage-large-objects.js';
import { describeStorageListing } from './storage-listing.js';
import { describeStorageRanges } from './storage-ranges.js';

/**
 * Every storage group, in order: basics, byte ranges, listing, large objects, concurrency,
 * conditional create, keys. Call it at the top level of a vitest test file.
 */
export function describeStorageConformance(factory: StorageFactory, environment: ConformanceEnvironment = {}): void {
  describeStorageBasics(factory, environment);
  describeStorageRanges(factory, environment);
  describeStorageListing(factory, environment);
  describeStorageLargeObjects(factory, environment);
  describeStorageConcurrency(factory, environment);
  describeStorageConditionalCreate(factory, environment);
  describeStorageKeys(factory, environment);
}
