import type { RetryPolicy } from '../config/config-schema.js';
import type { Lane } from '../lanes/lane.js';

/** Options for one job; each falls back to the executor's configured defaults. */
export type MapOptions = {
  /**
   * Tasks per invocation, or `'auto'`: about `invocationsPerSlot` invocations (the backends'
   * declaration, 4 by default) per unit of concurrency over every lane, at most 1000 tasks each.
   */
  chunkSize?: number | 'auto';
  /**
   * Most invocations this job has in flight on each lane. Default: the lane's concurrency (its
   * configured value, else the job defaults', else the backend's `defaultConcurrency`), which
   * every job on the lane shares.
   */
  concurrency?: number;
  /** Deadline of each invocation, in milliseconds (a chunk of tasks shares it). Default: 5 minutes. */
  timeoutMs?: number;
  /** `sync` returns records in responses, `async` collects them from storage. Default: `auto` (sync where supported). A lane's own `mode` wins. */
  mode?: 'auto' | 'sync' | 'async';
  /** Retries allowed per failure class. Default: transient 3, timeout 1, crash 2, lost 10, outOfMemory 0, userCode 0. */
  retries?: RetryPolicy;
  /** Launch bounded backup invocations for stragglers. Default: `true`. */
  backups?: boolean;
  /**
   * Write every result record to storage. `false` keeps records that come back in a synchronous
   * response out of storage (no storage request per invocation for small results); the client
   * then holds their only copy. Storage never learns those tasks finished: `fanout jobs` counts
   * them as pending, and re-attaching (`fanout results <id>`, `attach`) runs them again, after a
   * crash or a clean finish alike. Large records and asynchronous mode always use storage.
   * Default: `true`.
   */
  durable?: boolean;
  /** How the job is shown in `fanout jobs`. Default: the task's module and export. */
  label?: string;
  /**
   * The lanes to run over, by name, from those the executor was connected with. Default: every
   * configured lane (one, unless `lanes` was configured).
   */
  lanes?: readonly string[];
  /**
   * Stop dispatching before the job's projected cost passes this many US dollars; the tasks not
   * run fail with `BUDGET_EXCEEDED`, finished results are kept. Needs every lane to declare prices.
   * Default: no budget.
   */
  budgetUsd?: number;
};

/** Tasks per invocation at most, when chosen automatically. */
const MAX_AUTO_CHUNK = 1000;

/**
 * Tasks per invocation: the caller's number, or automatically a few invocations per slot over
 * every lane (`slots` is the sum of the lanes' concurrency times their `invocationsPerSlot`).
 * One chunk size for the whole job: records are keyed by task range, and any lane may take any range.
 */
export function chunkSizeFor(chunkSize: number | 'auto', taskCount: number, slots: number): number {
  if (chunkSize !== 'auto') {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new TypeError(`chunkSize must be 'auto' or a whole number of at least 1; got ${chunkSize}.`);
    return chunkSize;
  }
  // A few invocations per slot balance the tail without paying per-invocation overhead per task.
  return Math.max(1, Math.min(MAX_AUTO_CHUNK, Math.ceil(taskCount / slots)));
}

/** Most invocations one job has in flight on a lane: its own `concurrency`, bounded by the lane's ceiling. */
export function laneLimit(lane: Pick<Lane, 'controller'>, concurrency: number | undefined): number {
  return Math.min(concurrency ?? Infinity, lane.controller.ceiling);
}

/** A job's slots over its lanes: each lane's limit times its backend's `invocationsPerSlot`, summed. */
export function slotsOf(lanes: readonly Pick<Lane, 'controller' | 'capabilities'>[], concurrency: number | undefined): number {
  return lanes.reduce((sum, lane) => sum + laneLimit(lane, concurrency) * lane.capabilities.invocationsPerSlot, 0);
}

export function assertInvocationsPerSlot(backend: string, invocationsPerSlot: number): void {
  if (!(Number.isFinite(invocationsPerSlot) && invocationsPerSlot > 0)) {
    throw new TypeError(`The ${backend} compute backend declares capabilities.invocationsPerSlot = ${invocationsPerSlot}; it must be a positive number.`);
  }
}

export function assertConcurrency(concurrency: number | undefined): void {
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
    throw new TypeError(`concurrency must be a whole number of at least 1; got ${concurrency}.`);
  }
}

export function assertBudget(budgetUsd: number | undefined): void {
  if (budgetUsd !== undefined && !(Number.isFinite(budgetUsd) && budgetUsd >= 0)) {
    throw new TypeError(`budgetUsd must be a number of US dollars, at least 0; got ${budgetUsd}.`);
  }
}

/** The job's invocation deadline, checked against every lane's limit. */
export function timeoutFor(lanes: readonly Lane[], timeoutMs: number): number {
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError(`timeoutMs must be a positive number; got ${timeoutMs}.`);
  for (const lane of lanes) {
    if (timeoutMs > lane.capabilities.maxTimeoutMs) {
      throw new TypeError(`timeoutMs ${timeoutMs} is above the ${lane.compute.name} backend's limit of ${lane.capabilities.maxTimeoutMs} ms (lane ${lane.name}); pass a lower timeoutMs (or defaults.timeoutMs in the configuration).`);
    }
  }
  return timeoutMs;
}

/** A budget needs prices: every lane's compute and storage must declare them. */
export function assertPriced(lanes: readonly Lane[], budgetUsd: number | undefined): void {
  if (budgetUsd === undefined) return;
  const unpriced = lanes.filter((lane) => !lane.capabilities.prices || !lane.storage.capabilities.prices);
  if (unpriced.length) {
    throw new TypeError(`budgetUsd needs prices, and lane ${unpriced.map((lane) => lane.name).join(', ')} declares none (its compute or storage adapter leaves capabilities.prices out).`);
  }
}
