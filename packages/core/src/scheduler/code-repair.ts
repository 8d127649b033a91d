import { ErrorCode, FanoutError } from '@fanout/spec';
import type { JobStorage } from './job-lane.js';
import type { Attempt } from './unit.js';

type Repair = { done: Promise<void>; doneMs: number | undefined };

/**
 * A worker that finds the code bundle in its lane's storage corrupt refuses to run it
 * (`CODE_INTEGRITY_FAILED`). Bundles are content-addressed, so this client's copy is the right
 * one: it replaces the stored object, once per storage, and the range runs again. Not when the
 * client has no copy (a re-attached job), nor when the bundle was corrupt again after the repair
 * (something keeps damaging it: that is reported, not looped on).
 */
export class CodeRepairs {
  private readonly repairs = new Map<JobStorage, Repair>();

  constructor(
    private readonly codeKey: string,
    private readonly replace: ((jobStorage: JobStorage) => Promise<void>) | undefined,
    private readonly report: (message: string) => void,
  ) {}

  /** The repair that lets `attempt`'s range run again after `error`, or `undefined` when the error is not one to repair. */
  after(attempt: Attempt, error: unknown): Promise<void> | undefined {
    if (!this.replace || !FanoutError.isInstance(error, ErrorCode.CODE_INTEGRITY_FAILED)) return undefined;
    const { jobStorage } = attempt.lane;
    const earlier = this.repairs.get(jobStorage);
    if (earlier && earlier.doneMs !== undefined && attempt.startedMs > earlier.doneMs) return undefined;
    if (earlier) return earlier.done;
    const repair: Repair = { done: Promise.resolve(), doneMs: undefined };
    repair.done = this.replace(jobStorage).then(() => {
      repair.doneMs = Date.now();
      this.report(
        `The code bundle ${this.codeKey} in lane ${attempt.lane.name}'s storage did not match its SHA-256 when a worker fetched it; it was replaced with this client's copy and the tasks ran again.`,
      );
    });
    this.repairs.set(jobStorage, repair);
    return repair.done;
  }
}
