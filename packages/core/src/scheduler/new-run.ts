import { CountingStorage, totalRequests } from '@fanout/worker';
import type { ResolvedConfig } from '../config/load-config.js';
import { JobHandle } from '../job/job-handle.js';
import { laneLimit, type MapOptions } from '../job/job-options.js';
import type { Lane, LaneStorage } from '../lanes/lane.js';
import type { JobInputs, JobManifest } from '../protocol/job-object.js';
import type { StorageLayout } from '../protocol/layout.js';
import { RetryingStorage } from '../protocol/retrying-storage.js';
import { JobLane, type JobStorage } from './job-lane.js';
import { JobRun } from './job-run.js';

/** One job's view of each storage its lanes use. */
export type JobStorages = Map<LaneStorage, JobStorage>;

/**
 * The storage one job uses in one lane storage: every request counted (for `stats()`), and
 * retried when it fails retryably. Retries wrap the counter, so each attempt counts as the request it is.
 */
export function jobStorageFor(lane: LaneStorage): JobStorage {
  const counting = new CountingStorage(lane.backend);
  return { lane, counting, storage: new RetryingStorage(counting), written: Promise.resolve() };
}

export type NewRunOptions = {
  manifest: JobManifest;
  inputs: JobInputs | undefined;
  storages: JobStorages;
  lanes: readonly Lane[];
  options: MapOptions;
  config: ResolvedConfig;
  layout: StorageLayout;
  /** Replace the job's code bundle in a storage from this client's copy; absent for a re-attached job, which has none. */
  repairCode: ((jobStorage: JobStorage) => Promise<void>) | undefined;
  onDone: () => void;
};

/** A run over its lanes and the handle that reports it, bound to each other. */
export function newRun<Output>({ manifest, inputs, storages, lanes, options, config, layout, repairCode, onDone }: NewRunOptions): { run: JobRun; handle: JobHandle<Output> } {
  const reported = new Set<LaneStorage>();
  const jobLanes = lanes.map((lane) => {
    const first = !reported.has(lane.storage);
    reported.add(lane.storage);
    const limit = laneLimit(lane, options.concurrency);
    return new JobLane(lane, modeFor(lane, options.mode ?? config.defaults.mode), storages.get(lane.storage)!, limit, first);
  });
  const fixedRequests = [...storages.values()].reduce((sum, jobStorage) => sum + totalRequests(jobStorage.counting.counts), 0);
  const handle = new JobHandle<Output>(manifest, jobLanes, fixedRequests);
  const run: JobRun = new JobRun({
    manifest,
    inputs,
    lanes: jobLanes,
    layout,
    retries: { ...config.defaults.retries, ...options.retries },
    backups: options.backups ?? config.defaults.backups,
    durable: options.durable ?? config.defaults.durable,
    budgetUsd: options.budgetUsd,
    repairCode,
    onResult: (result) => handle.recordResult(result),
    onDone: () => {
      onDone();
      handle.recordDone();
    },
  });
  handle.bind(run);
  return { run, handle };
}

/** A lane's invocation mode: its own, else the job's; `auto` is sync where the backend supports it. */
export function modeFor(lane: Lane, jobMode: 'auto' | 'sync' | 'async'): 'sync' | 'async' {
  const mode = lane.mode ?? jobMode;
  if (mode === 'auto') return lane.capabilities.syncInvoke ? 'sync' : 'async';
  const supported = mode === 'sync' ? lane.capabilities.syncInvoke : lane.capabilities.asyncInvoke;
  if (!supported) throw new TypeError(`The ${lane.compute.name} backend (lane ${lane.name}) does not support mode "${mode}".`);
  return mode;
}
