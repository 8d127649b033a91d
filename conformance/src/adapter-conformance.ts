import { describeChaos } from './chaos/chaos-group.js';
import { describeLiveness } from './chaos/liveness-group.js';
import { describeComputeConformance } from './compute/compute-conformance.js';
import type { ConformanceEnvironment } from './environment.js';
import { computeFactoryFromAdapter, storageFactoryFromAdapter, type AdapterSetup } from './factories.js';
import { describeJobs } from './jobs/jobs-group.js';
import { describeCorruption } from './jobs/corruption-group.js';
import { describeJobRecovery } from './jobs/recovery-group.js';
import { describeLanes } from './jobs/lanes-group.js';
import { describeStorageConformance } from './storage/storage-conformance.js';

/**
 * Whole jobs through core on the adapter: the jobs, recovery, damaged-objects, lanes, chaos and liveness groups. Needs a plugin with
 * compute, and storage from it or from `setup.storagePlugin`. Call it at the top level of a vitest
 * test file.
 */
export function describeAdapterConformance(setup: AdapterSetup, environment: ConformanceEnvironment = {}): void {
  describeJobs(setup, environment);
  describeJobRecovery(setup, environment);
  describeCorruption(setup, environment);
  describeLanes(setup, environment);
  describeChaos(setup, environment);
  describeLiveness(setup, environment);
}

/** The suites {@link describeConformance} runs. */
export type ConformanceSuite = 'storage' | 'compute' | 'adapter';

/**
 * Everything a plugin provides, built through the plugin as core would build it: the storage
 * groups when it makes storage, the compute groups and the adapter groups when it makes compute.
 * `suites` narrows that, for a run that certifies only part of an adapter; it never skips single
 * tests.
 */
export function describeConformance(setup: AdapterSetup, environment: ConformanceEnvironment = {}, suites?: readonly ConformanceSuite[]): void {
  const wanted = (suite: ConformanceSuite) => suites === undefined || suites.includes(suite);
  // The storage suite certifies the plugin's own storage, never a storage plugin it borrows.
  if (typeof setup.plugin.createStorage === 'function' && wanted('storage')) {
    describeStorageConformance(storageFactoryFromAdapter({ ...setup, storagePlugin: undefined }), environment);
  }
  const hasStorage = typeof (setup.storagePlugin ?? setup.plugin).createStorage === 'function';
  if (typeof setup.plugin.createCompute === 'function' && hasStorage) {
    if (wanted('compute')) describeComputeConformance(computeFactoryFromAdapter(setup), environment);
    if (wanted('adapter')) describeAdapterConformance(setup, environment);
  }
}
