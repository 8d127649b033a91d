import { ErrorCode, FanoutError } from '@fanout/spec';
import type { RetryPolicy } from '../config/config-schema.js';

/** How a failed invocation is treated. */
export type FailureClass = 'throttled' | 'transient' | 'timeout' | 'crash' | 'outOfMemory' | 'fatal';

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
 * refused the credentials, or never answered. Such failures count towards the lane's circuit
 * breaker (throttling excepted: it shrinks the lane instead), and a range that used up its
 * retries on one lane goes to the job's other lanes before it fails.
 */
export function isLaneFault(failure: FailureClass, error: unknown): boolean {
  return failure === 'throttled' || failure === 'transient' || failure === 'timeout' || FanoutError.isInstance(error, ErrorCode.ACCESS_DENIED);
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
 * memory, never returns). Such a range is split into single tasks before it is retried, so the
 * healthy tasks finish and only the culprit fails.
 */
export function isolatesCulprit(failure: FailureClass): boolean {
  return failure === 'crash' || failure === 'timeout' || failure === 'outOfMemory';
}

/** Exponential backoff with full jitter; a platform's `Retry-After` is a floor. */
export function backoffMs(attempt: number, retryAfterMs?: number): number {
  const ceiling = Math.min(maxBackoffMs, baseBackoffMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(retryAfterMs ?? 0, Math.random() * ceiling);
}
