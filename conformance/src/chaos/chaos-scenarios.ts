import type { FaultPlan } from '../faults/with-faults.js';

/** One fault the chaos group runs a whole job under. */
export type ChaosScenario = {
  /** Short name, as in the figures table. */
  name: string;
  /** What is injected, in words. */
  description: string;
  /**
   * The mode the job runs in: `async` where the fault bites only when records are collected from
   * storage (falling back to `sync` on a backend without asynchronous invocation), or core's
   * default otherwise.
   */
  mode: 'prefer-async' | 'default';
  /** The faults, with shares of requests or invocations; the seed comes from the environment. */
  faults: FaultPlan;
  /** Tasks per invocation. Default: 10, so that a 1,000-task job makes about 100 invocations. */
  chunkSize?: number;
  /**
   * Each invocation's `timeoutMs`, in milliseconds before the environment's `timeScale`. Default:
   * 2,000. A scenario whose faults are only recovered at an invocation's deadline (its timeout
   * plus core's grace period) sets a shorter one: the tasks take a few milliseconds.
   */
  invocationTimeoutMs?: number;
};

/**
 * The chaos scenarios, one fault each. Shares are high enough that a 1,000-task job in chunks of
 * ten (100 invocations) meets every fault several times, and low enough that bounded retries
 * can absorb them.
 */
export const CHAOS_SCENARIOS: readonly ChaosScenario[] = [
  {
    name: 'storage-unavailable',
    description: "5% of the client's storage requests fail with a retryable BACKEND_UNAVAILABLE",
    mode: 'prefer-async',
    faults: { storage: { unavailableShare: 0.05 } },
  },
  {
    name: 'storage-timeout',
    description: "5% of the client's storage requests hang 200 ms, then fail retryable (half of such writes landed)",
    mode: 'prefer-async',
    faults: { storage: { timeoutShare: 0.05, timeoutDelayMs: 200 } },
  },
  {
    name: 'storage-writes-fail-once',
    description: "the client's first write of every key (code bundle, job object) fails BACKEND_UNAVAILABLE; a retry succeeds",
    mode: 'default',
    faults: { storage: { unavailableShare: 1, operations: ['put', 'create'], oncePerKey: true } },
  },
  {
    name: 'storage-outage',
    description: "the client's storage refuses every read (GET) for 2 s, from its 40th request on; one task per invocation",
    mode: 'prefer-async',
    faults: { storage: { operations: ['get'], outage: { afterRequests: 40, durationMs: 2000 } } },
    chunkSize: 1,
  },
  {
    name: 'compute-throttled',
    description: '25% of invocations are refused THROTTLED with retryAfterMs 20',
    mode: 'default',
    faults: { compute: { throttledShare: 0.25, retryAfterMs: 20 } },
  },
  {
    name: 'compute-dropped',
    description: '3% of invocations are accepted and never run',
    mode: 'prefer-async',
    faults: { compute: { droppedShare: 0.03 } },
    // Only a deadline (this timeout plus core's grace period) finds a dropped invocation. Ten
    // squares take milliseconds, but a cold worker's start may count against the timeout (local
    // compute starts its clock when it forks the process: about 0.5 s on two busy cores).
    invocationTimeoutMs: 1000,
  },
  {
    name: 'compute-duplicate',
    description: '25% of invocations are delivered twice',
    mode: 'default',
    faults: { compute: { duplicateShare: 0.25 } },
  },
  {
    name: 'compute-crash',
    description: "5% of invocations' workers die WORKER_CRASHED, half of them after the work ran",
    mode: 'default',
    faults: { compute: { crashShare: 0.05 } },
  },
  {
    name: 'compute-straggler',
    description: '5% of invocations start 1.5 s late',
    mode: 'default',
    faults: { compute: { stragglerShare: 0.05, stragglerDelayMs: 1500 } },
  },
];
