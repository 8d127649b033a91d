import type { AdapterPluginV1, ComputePluginContextV1, PluginContextV1 } from '@fanout/spec';
import { DEFAULT_SEED } from '../environment.js';
import { addComputeFaultCounts, emptyComputeFaultCounts, FaultInjectingCompute, type ComputeFaultCounts, type ComputeFaultOptions } from './fault-injecting-compute.js';
import { addStorageFaultCounts, emptyStorageFaultCounts, FaultInjectingStorage, type StorageFaultCounts, type StorageFaultOptions } from './fault-injecting-storage.js';

/** The faults {@link withFaults} injects into the backends a plugin makes. */
export type FaultPlan = {
  storage?: StorageFaultOptions;
  compute?: ComputeFaultOptions;
};

/** Faults injected so far by every backend a {@link FaultInjectingPlugin} made. */
export type InjectedFaults = {
  storage: StorageFaultCounts;
  compute: ComputeFaultCounts;
  /** Faults of every kind, storage and compute together (requests and invocations are not faults). */
  total: number;
};

/** An adapter plugin whose backends inject faults, with the counts of what they injected. */
export interface FaultInjectingPlugin extends AdapterPluginV1 {
  /** The plugin it wraps. */
  readonly inner: AdapterPluginV1;
  /** Every storage backend it made, in order. */
  readonly storages: readonly FaultInjectingStorage[];
  /** Every compute backend it made, in order. */
  readonly computes: readonly FaultInjectingCompute[];
  /** The faults injected so far, summed over every backend it made. */
  injectedFaults(): InjectedFaults;
}

/**
 * Wrap a plugin so that every storage and compute backend it makes injects the planned faults, for
 * running whole jobs through core under failure. The wrapper keeps the plugin's name (so the same
 * configuration selects it), omits its `module` (a process importing that module would get the
 * plugin without faults), and passes the inner storage's `reference` through: workers in other
 * processes open the inner storage, so only the client's storage requests are faulted.
 *
 * Each backend gets its own seed, derived from the plan's, so that two backends do not fail in
 * lockstep.
 */
export function withFaults(plugin: AdapterPluginV1, plan: FaultPlan): FaultInjectingPlugin {
  const storages: FaultInjectingStorage[] = [];
  const computes: FaultInjectingCompute[] = [];
  const seedFor = (base: number | undefined, index: number) => (base ?? DEFAULT_SEED) + index * 7919;
  const createStorage = plugin.createStorage?.bind(plugin);
  const createCompute = plugin.createCompute?.bind(plugin);
  const wrapped: FaultInjectingPlugin = {
    specificationVersion: 'v1',
    name: plugin.name,
    inner: plugin,
    storages,
    computes,
    injectedFaults: () => sumFaults(storages, computes),
    ...(createStorage && {
      async createStorage(options: unknown, context: PluginContextV1) {
        const storage = new FaultInjectingStorage(await createStorage(options, context), { ...plan.storage, seed: seedFor(plan.storage?.seed, storages.length) });
        storages.push(storage);
        return storage;
      },
    }),
    ...(createCompute && {
      async createCompute(options: unknown, context: ComputePluginContextV1) {
        const compute = new FaultInjectingCompute(await createCompute(options, context), { ...plan.compute, seed: seedFor(plan.compute?.seed, computes.length) });
        computes.push(compute);
        return compute;
      },
    }),
  };
  return wrapped;
}

function sumFaults(storages: readonly FaultInjectingStorage[], computes: readonly FaultInjectingCompute[]): InjectedFaults {
  const storage = emptyStorageFaultCounts();
  for (const { counts } of storages) addStorageFaultCounts(storage, counts);
  const compute = emptyComputeFaultCounts();
  for (const { counts } of computes) addComputeFaultCounts(compute, counts);
  return { storage, compute, total: totalFaults(storage, compute) };
}

/** Every fault counted once: requests and invocations are not faults, and a crash after running is already a crash. */
export function totalFaults(storage: StorageFaultCounts, compute: ComputeFaultCounts): number {
  return storage.unavailable + storage.timeouts + compute.throttled + compute.unavailable + compute.dropped + compute.duplicated + compute.crashed + compute.straggled;
}

/** Sum the faults of several plugins. */
export function sumInjectedFaults(all: readonly InjectedFaults[]): InjectedFaults {
  const storage = emptyStorageFaultCounts();
  const compute = emptyComputeFaultCounts();
  for (const faults of all) {
    addStorageFaultCounts(storage, faults.storage);
    addComputeFaultCounts(compute, faults.compute);
  }
  return { storage, compute, total: totalFaults(storage, compute) };
}
