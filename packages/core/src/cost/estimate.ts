import { serializeValue } from '@fanout/worker';
import type { Executor } from '../executor.js';
import { chunkSizeFor, laneLimit, slotsOf, type MapOptions } from '../job/job-options.js';
import type { TaskFunction, TaskReference } from '../job/job-types.js';
import type { Lane } from '../lanes/lane.js';
import { modeFor } from '../scheduler/new-run.js';
import { billedMemoryMb, invocationCostUsd, storageCostUsd } from './prices.js';
import { emptyRequestCounts } from '@fanout/worker';

export type EstimateOptions = Pick<MapOptions, 'lanes' | 'chunkSize' | 'concurrency' | 'mode' | 'durable'> & {
  /** How long one task runs, in milliseconds. Default: measured by running a sample of the inputs. */
  taskDurationMs?: number;
  /** Inputs run to measure the task duration when none is given. Default: 3. */
  sampleSize?: number;
};

/** One lane's share of an estimate. */
export type LaneEstimate = {
  name: string;
  tasks: number;
  invocations: number;
  computeUsd: number;
  storageUsd: number;
  /** `null` when the lane declares no prices. */
  totalUsd: number | null;
};

export type CostEstimate = {
  tasks: number;
  chunkSize: number;
  taskDurationMs: number;
  /** Whether `taskDurationMs` was measured on a sample (else given). */
  measured: boolean;
  /** What measuring the sample cost, already spent. */
  sampleUsd: number;
  lanes: LaneEstimate[];
  /** `null` when some lane declares no prices. */
  totalUsd: number | null;
};

/** Listings per invocation in asynchronous mode: one listing page finds many records. */
const LISTS_PER_ASYNC_INVOCATION = 0.1;

/**
 * A job's cost before it runs. Tasks are shared among the lanes by their concurrency (the
 * dealing gives a lane work as fast as it frees slots, which for tasks of equal length is in
 * proportion to its slots); each lane is priced by its declarations: invocations, GB-seconds of
 * the chunk's duration, the storage requests the protocol makes (the job object and code per
 * storage, a record per invocation, its read and a share of a listing in asynchronous mode, a
 * ranged input read per invocation when inputs do not travel inline, a code read per warm
 * container), and the egress of reading asynchronous records back from a cloud store.
 */
export async function estimateJob<Input>(
  executor: Executor,
  task: TaskFunction<Input, unknown> | TaskReference,
  inputs: Input[],
  options: EstimateOptions,
): Promise<CostEstimate> {
  const lanes = executor.lanesFor(options.lanes);
  let taskDurationMs = options.taskDurationMs;
  let resultBytes = 0;
  let sampleUsd = 0;
  if (taskDurationMs === undefined) {
    const sample = inputs.slice(0, Math.max(1, options.sampleSize ?? 3));
    const job = await executor.map(task, sample, { lanes: [lanes[0]!.name], chunkSize: 1, label: 'fanout estimate sample' });
    const results = await job.settled();
    const stats = job.stats();
    taskDurationMs = stats.timings.tasks.meanMs;
    sampleUsd = stats.costUsd ?? 0;
    const sizes = results.filter((result) => result.ok).map((result) => serializeValue((result as { value: unknown }).value).byteLength);
    resultBytes = sizes.length ? sizes.reduce((sum, size) => sum + size, 0) / sizes.length : 0;
  } else if (!(Number.isFinite(taskDurationMs) && taskDurationMs >= 0)) {
    throw new TypeError(`taskDurationMs must be a number of milliseconds, at least 0; got ${taskDurationMs}.`);
  }
  const ceilings = lanes.map((lane) => laneLimit(lane, options.concurrency));
  const chunkSize = chunkSizeFor(options.chunkSize ?? executor.config.defaults.chunkSize, inputs.length, slotsOf(lanes, options.concurrency));
  const totalCeiling = ceilings.reduce((sum, ceiling) => sum + ceiling, 0);
  let assigned = 0;
  const laneEstimates = lanes.map((lane, index) => {
    const tasks = index === lanes.length - 1 ? inputs.length - assigned : Math.round((inputs.length * ceilings[index]!) / totalCeiling);
    assigned += tasks;
    const mode = modeFor(lane, options.mode ?? executor.config.defaults.mode);
    const durable = options.durable ?? executor.config.defaults.durable;
    return estimateLane(lane, { tasks, chunkSize, taskDurationMs: taskDurationMs!, resultBytes, mode, durable, warmContainers: ceilings[index]! });
  });
  const priced = laneEstimates.every((lane) => lane.totalUsd !== null);
  return {
    tasks: inputs.length,
    chunkSize,
    taskDurationMs: taskDurationMs!,
    measured: options.taskDurationMs === undefined,
    sampleUsd,
    lanes: laneEstimates,
    totalUsd: priced ? laneEstimates.reduce((sum, lane) => sum + lane.totalUsd!, 0) : null,
  };
}

type LaneWork = { tasks: number; chunkSize: number; taskDurationMs: number; resultBytes: number; mode: 'sync' | 'async'; durable: boolean; warmContainers: number };

function estimateLane(lane: Lane, work: LaneWork): LaneEstimate {
  const invocations = Math.ceil(work.tasks / work.chunkSize);
  const computePrices = lane.capabilities.prices;
  const storagePrices = lane.storage.capabilities.prices;
  const name = lane.name;
  if (!computePrices || !storagePrices) return { name, tasks: work.tasks, invocations, computeUsd: 0, storageUsd: 0, totalUsd: null };
  const memoryMb = billedMemoryMb(computePrices, lane.capabilities.maxMemoryMb);
  const fullChunks = Math.floor(work.tasks / work.chunkSize);
  const lastChunk = work.tasks - fullChunks * work.chunkSize;
  const computeUsd =
    fullChunks * invocationCostUsd(work.chunkSize * work.taskDurationMs, memoryMb, computePrices) +
    (lastChunk > 0 ? invocationCostUsd(lastChunk * work.taskDurationMs, memoryMb, computePrices) : 0);
  const counts = emptyRequestCounts();
  // Fixed per storage: the code bundle's conditional create and the job object.
  counts.create += 1;
  counts.put += 1;
  const recordsStored = work.mode === 'async' || work.durable;
  counts.create += recordsStored ? invocations : 0;
  counts.get += Math.min(invocations, work.warmContainers);
  let egressBytes = 0;
  if (work.mode === 'async') {
    counts.get += invocations;
    counts.list += Math.ceil(invocations * LISTS_PER_ASYNC_INVOCATION);
    egressBytes = work.tasks * work.resultBytes;
  }
  const storageUsd = storageCostUsd(counts, storagePrices, egressBytes);
  return { name, tasks: work.tasks, invocations, computeUsd, storageUsd, totalUsd: computeUsd + storageUsd };
}
