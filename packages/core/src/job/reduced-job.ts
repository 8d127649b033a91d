import type { Job, JobStats, TaskResult, WaitOptions } from './job-types.js';

/**
 * The handle `mapReduce` returns: one task, the reduction, which starts once every map task has
 * succeeded. A failed map task fails the reduction with that task's error.
 */
export class ReducedJob<Mapped, Reduced> implements Job<Reduced> {
  readonly id: string;
  readonly size = 1;
  private readonly reduceJob: Promise<Job<Reduced>>;
  private reduceHandle: Job<Reduced> | undefined;

  constructor(
    private readonly mapJob: Job<Mapped>,
    reduce: (values: Mapped[]) => Promise<Job<Reduced>>,
  ) {
    this.id = mapJob.id;
    this.reduceJob = mapJob.results().then(async (values) => {
      this.reduceHandle = await reduce(values);
      return this.reduceHandle;
    });
    // Errors surface through results(), settled() and wait(); do not report them as unhandled.
    this.reduceJob.catch(() => undefined);
  }

  async results(options?: WaitOptions): Promise<Reduced[]> {
    return (await this.reduceJob).results(options);
  }

  async settled(options?: WaitOptions): Promise<TaskResult<Reduced>[]> {
    return (await this.reduceJob).settled(options);
  }

  async wait(options?: WaitOptions): Promise<void> {
    await (await this.reduceJob).wait(options);
  }

  async cancel(): Promise<void> {
    await this.mapJob.cancel();
    await this.reduceHandle?.cancel();
  }

  stats(): JobStats {
    return (this.reduceHandle ?? this.mapJob).stats();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TaskResult<Reduced>> {
    yield* await this.reduceJob;
  }
}
