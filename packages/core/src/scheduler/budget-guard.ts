import type { JobLane } from './job-lane.js';
import type { Attempt } from './unit.js';

/**
 * Keeps a job under its `budgetUsd`: before each invocation goes out, the cost so far (compute
 * of every record read, storage of every request), plus what the invocations in flight and this
 * one are expected to cost, must stay within the budget. Once it would not, dispatch stops for
 * good; what is in flight finishes, and the rest fails with `BUDGET_EXCEEDED`.
 */
export class BudgetGuard {
  stopped = false;
  private projectedUsd = 0;

  constructor(
    private readonly budgetUsd: number | undefined,
    private readonly lanes: readonly JobLane[],
    private readonly running: () => ReadonlySet<Attempt>,
  ) {}

  /** Whether sending one more invocation on `lane` would pass the budget; if so, dispatch stops. */
  wouldPass(lane: JobLane): boolean {
    if (this.budgetUsd === undefined) return false;
    let projected = this.lanes.reduce((sum, each) => sum + each.spentUsd(), 0) + this.expectedUsd(lane);
    for (const attempt of this.running()) projected += this.expectedUsd(attempt.lane);
    if (projected <= this.budgetUsd) return false;
    this.projectedUsd = projected;
    this.stopped = true;
    return true;
  }

  describe(): string {
    return `the job's budget of $${this.budgetUsd} would have been passed (projected $${this.projectedUsd.toFixed(6)} with the next invocation); finished results are kept.`;
  }

  /**
   * What an invocation is expected to cost: its request, the mean duration measured on its lane
   * (on any lane before its own first record; the billing minimum before any), and its record's
   * write, plus the read of it in asynchronous mode.
   */
  private expectedUsd(lane: JobLane): number {
    const measured = lane.meanInvocationMs() ?? this.lanes.map((each) => each.meanInvocationMs()).find((mean) => mean !== undefined) ?? 0;
    const prices = lane.lane.storage.capabilities.prices;
    const storage = (prices?.perWriteUsd ?? 0) + (lane.mode === 'async' ? (prices?.perReadUsd ?? 0) : 0);
    return lane.invocationUsd(measured) + storage;
  }
}
