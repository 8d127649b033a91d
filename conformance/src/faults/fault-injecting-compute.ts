import {
  ErrorCode,
  FanoutError,
  type ComputeBackendV1,
  type InvocationPayloadV1,
  type InvokeOptions,
  type InvokeResultV1,
} from '@fanout/spec';
import { DEFAULT_SEED } from '../environment.js';
import { assertShare, delay, FaultSchedule } from './seeded-random.js';

/** Which faults to inject, on what share of invocations. Every share is from 0 to 1 and defaults to 0; together at most 1. */
export type ComputeFaultOptions = {
  /** Share refused with a retryable `THROTTLED` carrying {@link ComputeFaultOptions.retryAfterMs}, without running. */
  throttledShare?: number;
  /** The `retryAfterMs` of injected throttling, in milliseconds. Default: 50. */
  retryAfterMs?: number;
  /** Share refused with a retryable `BACKEND_UNAVAILABLE` (a transient platform error), without running. */
  unavailableShare?: number;
  /**
   * Share accepted but never run: an asynchronous invocation resolves as accepted and nothing
   * happens; a synchronous one never answers until its signal aborts. Only a deadline recovers.
   */
  droppedShare?: number;
  /** Share delivered twice, as at-least-once platforms do: the work runs twice and the first answer is returned. */
  duplicateShare?: number;
  /**
   * Share whose worker dies: half of them (seeded) before running, half after the work ran and
   * wrote its record. A synchronous invocation then rejects `WORKER_CRASHED`; an asynchronous one
   * reports nothing either way, as on a real platform.
   */
  crashShare?: number;
  /** Share delayed by {@link ComputeFaultOptions.stragglerDelayMs} before running: stragglers. */
  stragglerShare?: number;
  /** How long a straggler waits before it starts, in milliseconds. Default: 1500. */
  stragglerDelayMs?: number;
  /** Inject only into first attempts (`payload.attempt === 1`), so that every retry succeeds. Default: `false`. */
  firstAttemptOnly?: boolean;
  /** Seed of the decisions. Default: the suite's default seed. */
  seed?: number;
};

/** What a {@link FaultInjectingCompute} has done so far. */
export type ComputeFaultCounts = {
  /** Invocations it saw, faulted or not. */
  invocations: number;
  throttled: number;
  unavailable: number;
  dropped: number;
  duplicated: number;
  crashed: number;
  /** Crashes injected after the work ran and wrote its record. */
  crashedAfterRunning: number;
  straggled: number;
};

/** Zero counts. */
export function emptyComputeFaultCounts(): ComputeFaultCounts {
  return { invocations: 0, throttled: 0, unavailable: 0, dropped: 0, duplicated: 0, crashed: 0, crashedAfterRunning: 0, straggled: 0 };
}

/** Add `more` into `into`, in place. */
export function addComputeFaultCounts(into: ComputeFaultCounts, more: ComputeFaultCounts): ComputeFaultCounts {
  for (const name of Object.keys(into) as (keyof ComputeFaultCounts)[]) into[name] += more[name];
  return into;
}

type FaultKind = 'throttled' | 'unavailable' | 'dropped' | 'duplicated' | 'crashed' | 'straggled';

/**
 * Wraps any compute backend and injects platform faults into a seeded share of its invocations.
 * It implements the same contract and declares the same capabilities. Counts every fault it
 * injects.
 */
export class FaultInjectingCompute implements ComputeBackendV1 {
  readonly specificationVersion = 'v1';
  readonly counts: ComputeFaultCounts = emptyComputeFaultCounts();
  readonly payloadSize?: (payload: InvocationPayloadV1) => number;
  private readonly schedule: FaultSchedule<FaultKind>;
  private readonly retryAfterMs: number;
  private readonly stragglerDelayMs: number;
  private readonly firstAttemptOnly: boolean;

  constructor(
    readonly inner: ComputeBackendV1,
    options: ComputeFaultOptions = {},
  ) {
    const shares: [FaultKind, number][] = [
      ['throttled', assertShare('throttledShare', options.throttledShare)],
      ['unavailable', assertShare('unavailableShare', options.unavailableShare)],
      ['dropped', assertShare('droppedShare', options.droppedShare)],
      ['duplicated', assertShare('duplicateShare', options.duplicateShare)],
      ['crashed', assertShare('crashShare', options.crashShare)],
      ['straggled', assertShare('stragglerShare', options.stragglerShare)],
    ];
    if (shares.reduce((sum, [, share]) => sum + share, 0) > 1) throw new TypeError('The fault shares add up to more than 1.');
    this.schedule = new FaultSchedule(shares, options.seed ?? DEFAULT_SEED);
    this.retryAfterMs = options.retryAfterMs ?? 50;
    this.stragglerDelayMs = options.stragglerDelayMs ?? 1500;
    this.firstAttemptOnly = options.firstAttemptOnly ?? false;
    const payloadSize = inner.payloadSize?.bind(inner);
    if (payloadSize) this.payloadSize = payloadSize;
  }

  get name(): string {
    return this.inner.name;
  }

  get capabilities() {
    return this.inner.capabilities;
  }

  async invoke(payload: InvocationPayloadV1, options: InvokeOptions): Promise<InvokeResultV1> {
    this.counts.invocations += 1;
    if (this.firstAttemptOnly && payload.attempt > 1) return this.inner.invoke(payload, options);
    const fault = this.schedule.next();
    if (fault) this.counts[fault] += 1;
    switch (fault) {
      case 'throttled':
        throw new FanoutError('injected fault: throttled', { code: ErrorCode.THROTTLED, retryable: true, fault: 'backend', retryAfterMs: this.retryAfterMs });
      case 'unavailable':
        throw new FanoutError('injected fault: platform unavailable', { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true, fault: 'backend' });
      case 'dropped':
        if (options.mode === 'async') return { mode: 'async' };
        // Never answers; only the caller's deadline, through the signal, ends the wait.
        if (options.signal?.aborted) throw aborted();
        await new Promise<never>((_, reject) => options.signal?.addEventListener('abort', () => reject(aborted()), { once: true }));
        throw aborted();
      case 'duplicated':
        // The second delivery runs on its own; its answer, like a real duplicate's, goes nowhere.
        this.inner.invoke(payload, options).catch(() => undefined);
        return this.inner.invoke(payload, options);
      case 'crashed':
        return this.crash(payload, options);
      case 'straggled':
        await delay(this.stragglerDelayMs, options.signal, aborted);
        return this.inner.invoke(payload, options);
      default:
        return this.inner.invoke(payload, options);
    }
  }

  dispose(): Promise<void> {
    return this.inner.dispose?.() ?? Promise.resolve();
  }

  private async crash(payload: InvocationPayloadV1, options: InvokeOptions): Promise<InvokeResultV1> {
    const afterRunning = this.schedule.random() < 0.5;
    if (afterRunning) this.counts.crashedAfterRunning += 1;
    if (options.mode === 'async') {
      // An asynchronous worker that dies is silent: after writing its record it looks like success, before it like a drop.
      return afterRunning ? this.inner.invoke(payload, options) : { mode: 'async' };
    }
    if (afterRunning) await this.inner.invoke(payload, options).catch(() => undefined);
    throw new FanoutError('injected fault: the worker process died', { code: ErrorCode.WORKER_CRASHED, retryable: true, fault: 'backend' });
  }
}

function aborted(): FanoutError {
  return new FanoutError('The invocation was aborted.', { code: ErrorCode.ABORTED, fault: 'caller' });
}
