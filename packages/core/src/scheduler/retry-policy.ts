import { ErrorCode, FanoutError } from '@fanout/spec';
import type { RetryPolicy } from '../config/config-schema.js';
import { newUnit, type Unit } from './unit.js';

/** How a failed invocation is treated. */
export type FailureClass = 'throttled' | 'transient' | 'timeout' | 'lost' | 'crash' | 'outOfMemory' | 'fatal';

/**
 * Throttling is never a reason to drop work, but it must still end: past this many throttled
 * attempts at one task range (minutes of backoff), the tasks fail with `THROTTLED`.
 */
export const MAX_THROTTLED_ATTEMPTS = 50;

const baseBackoffMs = 200;
const maxBackoffMs = 10_000;

/** Sort an invoke failure into the class that decides whether and how it is retried. */
export function classifyFailure(error: unknown): FailureClass {
  if (!FanoutError.isInstance(error)) return 'transient';
  switch (error.code) {
    case ErrorCode.THROTTLED:
      return 'throttled';
    case ErrorCode.TIMEOUT:
      return 'timeout';
    case ErrorCode.INVOCATION_LOST:
      return 'lost';
    case ErrorCode.WORKER_CRASHED:
      return 'crash';
    case ErrorCode.OUT_OF_MEMORY:
      return 'outOfMemory';
    default:
      return error.retryable ? 'transient' : 'fatal';
  }
}

/**
 * Whether a failure points at the lane rather than at the task: the platform throttled, failed,
 * refused the credentials, never answered, or dropped the invocation. Such failures count towards the lane's circuit
 * breaker (throttling excepted: it shrinks the lane instead), and a range that used up its
 * retries on one lane goes to the job's other lanes before it fails.
 */
export function isLaneFault(failure: FailureClass, error: unknown): boolean {
  return failure === 'throttled' || failure === 'transient' || failure === 'timeout' || failure === 'lost' || FanoutError.isInstance(error, ErrorCode.ACCESS_DENIED);
}

/** How many retries a class allows, from the job's policy. */
export function retriesAllowed(failure: FailureClass, policy: Required<RetryPolicy>): number {
  switch (failure) {
    case 'throttled':
      return MAX_THROTTLED_ATTEMPTS;
    case 'fatal':
      return 0;
    default:
      return policy[failure];
  }
}

/**
 * Failures that can be caused by a single task of a range (it exits the process, exhausts
 * memory, never returns). Such a range is split before it is retried ({@link splitForCulprit}),
 * so the healthy tasks finish and only the culprit fails.
 */
export function isolatesCulprit(failure: FailureClass): boolean {
  return failure === 'crash' || failure === 'timeout' || failure === 'outOfMemory';
}

/**
 * The parts a range that failed for one of its tasks is retried as. A crash or an exhausted heap
 * is reported within moments, so the range is halved: a single culprit is found in a few quick
 * rounds while the healthy halves finish as one invocation each (a task that crashes only once
 * costs two invocations, not one per task). A timeout costs a whole deadline per round, so that
 * range is split into single tasks at once.
 */
export function splitForCulprit(unit: { first: number; count: number }, failure: FailureClass): Unit[] {
  if (failure === 'timeout') return Array.from({ length: unit.count }, (_, offset) => newUnit(unit.first + offset, 1));
  const half = Math.ceil(unit.count / 2);
  return [newUnit(unit.first, half), newUnit(unit.first + half, unit.count - half)];
}

/** Exponential backoff with full jitter; a platform's `Retry-After` is a floor. */
export function backoffMs(attempt: number, retryAfterMs?: number): number {
  const ceiling = Math.min(maxBackoffMs, baseBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(retryAfterMs ?? 0, Math.random() * ceiling);
}
