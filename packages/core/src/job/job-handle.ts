import { ErrorCode, FanoutError } from '@fanout/spec';
import { addRequestCounts, emptyRequestCounts, totalRequests } from '@fanout/worker';
import type { JobManifest } from '../protocol/job-object.js';
import type { JobLane } from '../scheduler/job-lane.js';
import type { JobRun } from '../scheduler/job-run.js';
import { summarize } from '../scheduler/summary.js';
import type { Job, JobState, JobStats, LaneStats, TaskResult, WaitCondition, WaitOptions } from './job-types.js';

type Waiter = { threshold: number; resolve: () => void };

/**
 * The handle a user holds for a running job. It records outcomes as the run reports them,
 * answers `results`, `settled`, `wait` and async iteration from that record, and computes
 * `stats()` from the run's counters and the client's request-counting storage.
 */
export class JobHandle<Output> implements Job<Output> {
  readonly id: string;
  readonly size: number;
  private run: JobRun | undefined;
  private readonly completionOrder: TaskResult<Output>[] = [];
  private waiters: Waiter[] = [];
  private readonly iterators = new Set<() => void>();
  private cancelled = false;
  private finishedMs: number | undefined;
  /** When this client began running the job (epoch ms); `undefined` for an inspection, which runs nothing. */
  private runningSinceMs: number | undefined;
  /** How long the job had run before this client took it up: from submission to the last record it found. */
  private ranBeforeMs = 0;

  constructor(
    readonly manifest: JobManifest,
    private readonly lanes: readonly JobLane[],
    private readonly fixedRequests: number,
  ) {
    this.id = manifest.id;
    this.size = manifest.taskCount;
  }

  /** Connect the run whose outcomes this handle reports. Called once, before the run starts. */
  bind(run: JobRun): void {
    this.run = run;
  }

  /** Called by the run for each task in completion order. */
  recordResult(result: TaskResult<unknown>): void {
    this.completionOrder.push(result as TaskResult<Output>);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.completionOrder.length < waiter.threshold) return true;
      waiter.resolve();
      return false;
    });
    for (const wake of this.iterators) wake();
  }

  /**
   * Called once the records already in storage are adopted, as this client starts running the
   * job at `sinceMs` (a new job: its submission; a re-attached one: now). Its wall time is then
   * what the adopted records show had run, plus this client's run: a re-attached job does not
   * count the time when no client was running it. Not called for an inspection.
   */
  startRunning(sinceMs: number): void {
    this.ranBeforeMs = this.recordedMs();
    this.runningSinceMs = sinceMs;
  }

  /** Called by the run once every task has an outcome. */
  recordDone(): void {
    this.finishedMs = Date.now();
  }

  async results(options: WaitOptions = {}): Promise<Output[]> {
    const settled = await this.settled(options);
    const failed = settled.find((result) => !result.ok);
    if (failed && !failed.ok) throw failed.error;
    return settled.map((result) => (result.ok ? result.value : (undefined as never)));
  }

  async settled(options: WaitOptions = {}): Promise<TaskResult<Output>[]> {
    await this.wait({ ...options, until: 'all' });
    return this.activeRun().outcomes as TaskResult<Output>[];
  }

  wait(options: WaitOptions = {}): Promise<void> {
    const threshold = thresholdFor(options.until ?? 'all', this.size);
    if (this.completionOrder.length >= threshold) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { threshold, resolve: () => finish(resolve) };
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () =>
        finish(() => reject(new FanoutError('Waiting for the job was aborted.', { code: ErrorCode.ABORTED, fault: 'caller' })));
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.waiters = this.waiters.filter((other) => other !== waiter);
        settle();
      };
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new FanoutError(
                  `Job ${this.id} had ${this.completionOrder.length} of ${threshold} tasks done after ${options.timeoutMs} ms; it keeps running (re-attach with \`fanout results ${this.id}\`).`,
                  { code: ErrorCode.WAIT_TIMEOUT, fault: 'caller' },
                ),
              ),
            ),
          options.timeoutMs,
        );
      }
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    this.activeRun().cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TaskResult<Output>> {
    let next = 0;
    while (next < this.size) {
      if (next < this.completionOrder.length) {
        yield this.completionOrder[next]!;
        next += 1;
        continue;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.iterators.delete(wake);
          resolve();
        };
        this.iterators.add(wake);
      });
    }
  }

  stats(): JobStats {
    const run = this.activeRun();
    const counters = run.counters;
    const client = emptyRequestCounts();
    for (const lane of this.lanes) if (lane.reportsClientStorage) addRequestCounts(client, lane.jobStorage.counting.counts);
    const worker = { ...counters.workerStorage };
    const total = totalRequests(addRequestCounts(addRequestCounts(emptyRequestCounts(), client), worker));
    const wallMs = this.wallMs();
    const failed = run.outcomes.filter((outcome) => outcome && !outcome.ok).length;
    return {
      jobId: this.id,
      state: this.state(failed),
      tasks: { total: this.size, succeeded: run.completed - failed, failed, pending: this.size - run.completed },
      invocations: {
        planned: Math.ceil(this.size / this.manifest.chunkSize),
        attempts: counters.attempts,
        succeeded: counters.succeeded,
        retried: counters.retried,
        backups: counters.backups,
        duplicates: counters.duplicates,
        throttled: counters.throttled,
        coldStarts: counters.coldStarts,
      },
      chunkSize: this.manifest.chunkSize,
      mode: this.lanes.every((lane) => lane.mode === this.lanes[0]!.mode) ? this.lanes[0]!.mode : 'mixed',
      storage: {
        client,
        worker,
        fixedRequests: this.fixedRequests,
        totalRequests: total,
        requestsPerTask: this.size ? (total - this.fixedRequests) / this.size : 0,
      },
      timings: {
        // From submission, so a job inspected from another process reports its real duration.
        wallMs,
        tasks: summarize(counters.taskDurations),
        invocations: summarize(counters.invocationDurations),
      },
      lanes: this.lanes.map((lane) => laneStats(lane, wallMs)),
      waiting: run.waiting(),
      setAside: [...run.setAside],
      repaired: [...run.repaired],
      costUsd: this.lanes.every((lane) => lane.priced) ? roundUsd(this.lanes.reduce((sum, lane) => sum + lane.spentUsd(), 0)) : null,
    };
  }

  private state(failed: number): JobState {
    if (this.cancelled) return 'cancelled';
    if (this.activeRun().completed < this.size) return 'running';
    return failed ? 'failed' : 'succeeded';
  }

  /**
   * An inspected job's wall time is what storage shows, whenever it is asked: from submission to
   * the last record. A running one's adds this client's run so far; it finished when its last
   * task did, or when this client started it, for a job whose every record was already there.
   */
  private wallMs(): number {
    if (this.runningSinceMs === undefined) return this.recordedMs();
    const endMs = this.finishedMs ?? Date.now();
    return this.ranBeforeMs + Math.max(0, endMs - this.runningSinceMs);
  }

  /** From submission to the last record read, 0 before any: the client's clock against the workers', which may differ a little. */
  private recordedMs(): number {
    const { lastFinishedMs } = this.activeRun().counters;
    return lastFinishedMs ? Math.max(0, lastFinishedMs - this.manifest.createdMs) : 0;
  }

  private activeRun(): JobRun {
    if (!this.run) throw new Error('JobHandle used before its run was bound');
    return this.run;
  }
}

function laneStats(lane: JobLane, wallMs: number): LaneStats {
  const { counters } = lane;
  const client = lane.reportsClientStorage ? { ...lane.jobStorage.counting.counts } : emptyRequestCounts();
  const worker = { ...counters.workerStorage };
  const activeMs = counters.firstStartedMs ? Math.max(0, counters.lastFinishedMs - counters.firstStartedMs) : 0;
  return {
    name: lane.name,
    backends: { compute: lane.lane.compute.name, storage: lane.lane.storage.backend.name },
    mode: lane.mode,
    tasks: counters.tasks,
    invocations: {
      attempts: counters.attempts,
      succeeded: counters.succeeded,
      retried: counters.retried,
      backups: counters.backups,
      throttled: counters.throttled,
      failures: { ...counters.failures },
    },
    concurrency: { cap: lane.lane.controller.cap, ceiling: lane.lane.controller.ceiling },
    breaker: lane.lane.breaker.state,
    storage: { client, worker, totalRequests: totalRequests(client) + totalRequests(worker) },
    activeMs,
    wallShare: wallMs > 0 ? Math.min(1, activeMs / wallMs) : 0,
    billedMs: counters.billedMs,
    costUsd: lane.priced ? roundUsd(lane.spentUsd()) : null,
  };
}

/** Costs to a millionth of a cent: enough for a single Lambda request to show. */
function roundUsd(usd: number): number {
  return Math.round(usd * 1e8) / 1e8;
}

function thresholdFor(condition: WaitCondition, size: number): number {
  if (condition === 'all') return size;
  if (condition === 'any') return Math.min(1, size);
  if (typeof condition !== 'number' || !(condition > 0 && condition <= 1)) {
    throw new TypeError(`wait({ until }) takes 'all', 'any' or a fraction in (0, 1]; got ${String(condition)}.`);
  }
  return Math.ceil(condition * size);
}
