import { resolveComputeCapabilities, type ComputeBackendV1, type ResolvedComputeCapabilities, type ResolvedStorageCapabilities, type StorageBackendV1 } from '@fanout/spec';
import { resolveStorageCapabilities } from '@fanout/spec';
import { CircuitBreaker } from './circuit-breaker.js';
import { ConcurrencyController } from './concurrency-controller.js';
import { StartWatch } from './start-watch.js';

/** One storage backend as the executor holds it; lanes that name the same storage share it. */
export type LaneStorage = {
  /** Identifies the configured store (backend and options), so that lanes naming the same one share it. */
  readonly key: string;
  readonly backend: StorageBackendV1;
  readonly capabilities: ResolvedStorageCapabilities;
  /** Code bundles known to be in this storage, so later jobs skip even the existence check. */
  readonly uploaded: Set<string>;
};

/**
 * A lane: one compute backend and the storage its workers use, with the concurrency controller
 * and circuit breaker that every job running on it shares. Owned by the executor.
 */
export type Lane = {
  readonly name: string;
  readonly compute: ComputeBackendV1;
  readonly capabilities: ResolvedComputeCapabilities;
  readonly storage: LaneStorage;
  /** Share of work when several lanes have a free slot at once. */
  readonly weight: number;
  /** The lane's own invocation mode, over the job's. */
  readonly mode: 'auto' | 'sync' | 'async' | undefined;
  readonly controller: ConcurrencyController;
  readonly breaker: CircuitBreaker;
  /** How long asynchronous invocations take to start here, learnt from every job's start signals. */
  readonly starts: StartWatch;
};

export type LaneBackends = {
  name: string;
  compute: ComputeBackendV1;
  storage: StorageBackendV1;
  /** Identifies the configured store; equal keys mean one shared storage object. */
  storageKey: string;
  weight: number;
  /** The lane's configured concurrency, if any. */
  concurrency: number | undefined;
  mode: 'auto' | 'sync' | 'async' | undefined;
};

/** Build the executor's lanes: resolved capabilities, one controller and breaker each, storages shared by key. */
export function createLanes(backends: readonly LaneBackends[], defaultConcurrency: number | undefined): Lane[] {
  const storages = new Map<string, LaneStorage>();
  return backends.map((lane) => {
    const capabilities = resolveComputeCapabilities(lane.compute.capabilities);
    const { storedInputsAboveBytes } = capabilities;
    if (typeof storedInputsAboveBytes !== 'number' || !(storedInputsAboveBytes >= 0)) {
      throw new TypeError(
        `The ${lane.compute.name} compute backend declares capabilities.storedInputsAboveBytes = ${String(storedInputsAboveBytes)}; it must be a number of bytes, at least 0 (Infinity for never).`,
      );
    }
    let storage = storages.get(lane.storageKey);
    if (!storage) {
      storage = { key: lane.storageKey, backend: lane.storage, capabilities: resolveStorageCapabilities(lane.storage.capabilities), uploaded: new Set() };
      storages.set(lane.storageKey, storage);
    }
    const wanted = lane.concurrency ?? defaultConcurrency ?? capabilities.defaultConcurrency;
    return {
      name: lane.name,
      compute: lane.compute,
      capabilities,
      storage,
      weight: lane.weight,
      mode: lane.mode,
      controller: new ConcurrencyController(Math.max(1, Math.min(wanted, capabilities.maxConcurrency))),
      breaker: new CircuitBreaker(),
      starts: new StartWatch(),
    };
  });
}

/** The distinct storages of some lanes, in lane order. */
export function storagesOf(lanes: readonly Lane[]): LaneStorage[] {
  return [...new Set(lanes.map((lane) => lane.storage))];
}
