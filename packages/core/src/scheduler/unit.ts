import { ErrorCode, FanoutError } from '@fanout/spec';
import type { JobLane } from './job-lane.js';

/** A contiguous range of tasks, as planned or after a split. */
export type Unit = {
  first: number;
  count: number;
  /** How many times the task was run again after it threw (see `StorageLayout.resultKey`); 0 for planned and split ranges. */
  generation: number;
  /** Retries used so far, by failure class; failures that point at a lane count per lane. */
  retries: Map<string, number>;
  /** Attempts made at this unit (the payload's `attempt`), backups included. */
  attempts: number;
  /** Attempts of this unit currently in flight. */
  inFlight: Set<Attempt>;
  backedUp: boolean;
  /** Backups launched because a started attempt stopped reporting (see `liveness.ts`). */
  suspectBackups: number;
  /** Attempts sent again because they never started. */
  lostResends: number;
  /** A lane may not take the unit again before this epoch millisecond (its backoff after a failure there). */
  holds: Map<JobLane, number>;
  /** Lanes that used up their retries on this unit; it goes to the others. */
  excluded: Set<JobLane>;
};

export type Attempt = {
  unit: Unit;
  lane: JobLane;
  /** The payload's `attempt`. */
  number: number;
  /** When the invocation went out (epoch ms): its deadline and the straggler clock start here. */
  startedMs: number;
  /** Asynchronous: when the platform accepted the invocation. */
  acceptedMs: number | undefined;
  /** Asynchronous: when its start signal was listed. */
  runningSinceMs: number | undefined;
  controller: AbortController;
  deadline: NodeJS.Timeout | undefined;
  isBackup: boolean;
  /** Holds one of the lane controller's slots (released once the record is only being read back). */
  holdsSlot: boolean;
  /** The invocation returned and its record is being read back: it no longer holds compute. */
  fetching: boolean;
};

export function newUnit(first: number, count: number, generation = 0): Unit {
  return { first, count, generation, retries: new Map(), attempts: 0, inFlight: new Set(), backedUp: false, suspectBackups: 0, lostResends: 0, holds: new Map(), excluded: new Set() };
}

export function describeRange(unit: { first: number; count: number }): string {
  return unit.count === 1 ? String(unit.first) : `${unit.first}-${unit.first + unit.count - 1}`;
}

/** The failure of an attempt at `unit` that did not report within `ms` on lane `lane`: retryable, and blamed on the platform. */
export function deadlineError(unit: Unit, lane: string, ms: number): FanoutError {
  return new FanoutError(`Tasks ${describeRange(unit)} did not report within ${ms} ms on lane ${lane}.`, { code: ErrorCode.TIMEOUT, retryable: true, fault: 'backend' });
}
