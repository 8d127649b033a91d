import { ErrorCode, FanoutError, PROTOCOL_VERSION } from '@fanout/spec';
import { addRequestCounts, emptyRequestCounts } from '@fanout/worker';
import { BundleStore } from './bundle/bundle-store.js';
import { resolveTaskSource, type TaskSource } from './bundle/task-source.js';
import type { ResolvedConfig } from './config/load-config.js';
import { estimateJob, type CostEstimate, type EstimateOptions } from './cost/estimate.js';
import { JobHandle } from './job/job-handle.js';
import { readJobSummaries, deleteJobs, type CleanOptions, type CleanReport, type JobSummary } from './job/job-admin.js';
import { assertBudget, assertConcurrency, assertInvocationsPerSlot, assertPriced, chunkSizeFor, slotsOf, timeoutFor, type MapOptions } from './job/job-options.js';
import { findJob, readJobInputs, readRecords, type StoredRecord } from './job/job-records.js';
import type { SetAsideObject } from './protocol/set-aside.js';
import type { Job, JobStats, TaskFunction, TaskReference } from './job/job-types.js';
import { ReducedJob } from './job/reduced-job.js';
import { createLanes, storagesOf, type Lane, type LaneBackends, type LaneStorage } from './lanes/lane.js';
import { encodeJobObject, inputsOfJobObject, type JobInputs, type JobManifest } from './protocol/job-object.js';
import { serializeInput, streamParts } from './protocol/job-object-body.js';
import { StorageLayout, newJobId } from './protocol/layout.js';
import { RetryingStorage } from './protocol/retrying-storage.js';
import { jobStorageFor, newRun, type JobStorages } from './scheduler/new-run.js';
import type { JobStorage } from './scheduler/job-lane.js';
import { readsStoredInputs } from './scheduler/payloads.js';

export type { MapOptions } from './job/job-options.js';

/** What a run of a job starts from: a new job, a re-attached one, or one only inspected. */
type RunStart = {
  manifest: JobManifest;
  inputs: JobInputs | undefined;
  storages: JobStorages;
  lanes: Lane[];
  options: MapOptions;
  /** Records already in storage, with the storage each came from. */
  adopt?: (StoredRecord & { storage: LaneStorage })[];
  /** When this client's run of the job began (a new job: its submission; a re-attached one: now); `undefined` to only inspect it. */
  runningSinceMs: number | undefined;
  /** Objects found where records belong that are not records. */
  setAside?: readonly SetAsideObject[];
  /** Replace the code bundle in a storage where a worker found it corrupt; only a client with the bundle can. */
  repairCode?: (jobStorage: JobStorage) => Promise<void>;
};

export type ExecutorDependencies = {
  config: ResolvedConfig;
  /** Every configured lane's backends, in configuration order; the first is the default for single-lane work. */
  lanes: LaneBackends[];
};

const insideWorker = Symbol.for('fanout.insideWorker');

/**
 * Runs jobs over one or more lanes (a compute backend and the storage its workers use). Made by
 * `connect()`; release it with `dispose()` (or `await using`). Each lane's concurrency
 * controller and circuit breaker belong to the executor, so every job on a lane shares them.
 */
export class Executor {
  readonly config: ResolvedConfig;
  readonly layout: StorageLayout;
  /** Every lane, in configuration order. */
  readonly lanes: readonly Lane[];
  private readonly bundles: BundleStore;
  private readonly runs = new Set<{ cancel(): void }>();
  private disposed = false;

  constructor(dependencies: ExecutorDependencies) {
    this.config = dependencies.config;
    this.lanes = createLanes(dependencies.lanes, dependencies.config.defaults.concurrency);
    for (const lane of this.lanes) assertInvocationsPerSlot(lane.compute.name, lane.capabilities.invocationsPerSlot);
    this.layout = new StorageLayout(dependencies.config.prefix);
    this.bundles = new BundleStore(this.layout);
  }

  /**
   * Run `task` over every input. Resolves once the job is stored (in every lane's storage) and
   * dispatching; await its results on the handle. The inputs of an array are read until then:
   * leave them unmodified until it resolves. Those of an iterator are copied as they come.
   */
  async map<Input, Output>(
    task: TaskFunction<Input, Output> | TaskReference,
    inputs: Iterable<Input> | AsyncIterable<Input>,
    options: MapOptions = {},
  ): Promise<Job<Awaited<Output>>> {
    this.assertUsable();
    assertConcurrency(options.concurrency);
    assertBudget(options.budgetUsd);
    const lanes = this.lanesFor(options.lanes);
    assertPriced(lanes, options.budgetUsd);
    const source = await resolveTaskSource(task as TaskFunction<never>, this.config.baseDirectory);
    // On a lane that reads a large job's inputs from the job object, large views in an array of
    // inputs are referenced rather than copied: the job object is written from them while the
    // caller still awaits map(), and nothing reads them afterwards (a job with a lane that sends
    // inputs inline gets a copy, below). Elsewhere inline payloads are cut after map() returns,
    // so inputs are copied and the caller may reuse its arrays; so are the inputs of an
    // iterator, which may refill one buffer per input.
    const referenceViews = Array.isArray(inputs) && lanes.some((lane) => Number.isFinite(lane.capabilities.storedInputsAboveBytes));
    const serialized: Uint8Array[][] = [];
    for await (const input of inputs) serialized.push(serializeInput(input, serialized.length, referenceViews));
    const bundle = await this.bundles.bundleFor(source);
    const exportName = source.kind === 'module' ? source.exportName : 'default';
    if (!bundle.exports.includes(exportName)) {
      throw new FanoutError(`${describeSource(source)} has no export named "${exportName}". It exports: ${bundle.exports.join(', ') || 'nothing'}.`, {
        code: ErrorCode.EXPORT_NOT_FOUND,
        fault: 'caller',
      });
    }
    const timeoutMs = timeoutFor(lanes, options.timeoutMs ?? this.config.defaults.timeoutMs);
    const slots = slotsOf(lanes, options.concurrency);
    const manifestWithoutOffsets: Omit<JobManifest, 'inputOffsets'> = {
      protocol: PROTOCOL_VERSION,
      id: newJobId(),
      createdMs: Date.now(),
      label: options.label ?? describeSource(source),
      code: { key: this.layout.codeKey(bundle.sha256), sha256: bundle.sha256, exportName },
      taskCount: serialized.length,
      chunkSize: chunkSizeFor(options.chunkSize ?? this.config.defaults.chunkSize, serialized.length, slots),
      timeoutMs,
      ...(lanes.length > 1 || lanes[0] !== this.lanes[0] ? { lanes: lanes.map((lane) => lane.name) } : {}),
    };
    const storages: JobStorages = new Map(storagesOf(lanes).map((laneStorage) => [laneStorage, jobStorageFor(laneStorage)]));
    await Promise.all([...storages.values()].map((jobStorage) => this.bundles.upload(jobStorage.storage, jobStorage.lane, bundle)));
    const { manifest, parts, inputs: jobInputs } = encodeJobObject(manifestWithoutOffsets, serialized);
    // Payloads are cut as invocations go out, some after map() returns: when the parts alias the
    // caller's arrays, inline payloads are cut from a copy of the job object.
    const inline = lanes.some((lane) => !readsStoredInputs(manifest, lane.capabilities.storedInputsAboveBytes));
    const inlineInputs = !inline ? undefined : referenceViews ? inputsOfJobObject(Buffer.concat(parts), manifest) : jobInputs;
    // Every lane's storage holds the job object: its workers read inputs from it, and any of
    // them lets a client re-attach. Invocations whose inputs travel inline start while it is
    // being written; the handle is returned once every copy is stored.
    for (const jobStorage of storages.values()) {
      jobStorage.written = jobStorage.storage.put(this.layout.jobKey(manifest.id), streamParts(parts));
      jobStorage.written.catch(() => undefined);
    }
    const job = this.startRun<Awaited<Output>>({
      manifest,
      inputs: inlineInputs,
      storages,
      lanes,
      options,
      runningSinceMs: manifest.createdMs,
      repairCode: (jobStorage) => this.bundles.replace(jobStorage.storage, bundle),
    });
    try {
      await Promise.all([...storages.values()].map((jobStorage) => jobStorage.written));
    } catch (error) {
      await job.cancel();
      throw error;
    }
    return job;
  }

  /**
   * Map, then reduce every map result with one call of `reduceTask`. The handle's single result
   * is the reduction; `stats()` reports the map stage until the reduction starts.
   */
  async mapReduce<Input, Mapped, Reduced>(
    mapTask: TaskFunction<Input, Mapped> | TaskReference,
    inputs: Iterable<Input> | AsyncIterable<Input>,
    reduceTask: TaskFunction<Awaited<Mapped>[], Reduced> | TaskReference,
    options: MapOptions = {},
  ): Promise<Job<Awaited<Reduced>>> {
    const mapJob = await this.map(mapTask, inputs, options);
    return new ReducedJob(mapJob, async (values) => this.map(reduceTask, [values as Awaited<Mapped>[]], { ...options, chunkSize: 1 }));
  }

  /** Run `task` once on `input`. */
  call<Input, Output>(task: TaskFunction<Input, Output> | TaskReference, input: Input, options: MapOptions = {}): Promise<Job<Awaited<Output>>> {
    return this.map(task, [input], { ...options, chunkSize: 1 });
  }

  /**
   * Estimate a job's cost before running it, per lane and in total, from the declared prices: the
   * invocations, their GB-seconds, and the storage requests the protocol makes. Give
   * `taskDurationMs`, or let a small sample of the inputs run to measure it.
   */
  async estimate<Input>(task: TaskFunction<Input, unknown> | TaskReference, inputs: Iterable<Input>, options: EstimateOptions = {}): Promise<CostEstimate> {
    this.assertUsable();
    return estimateJob(this, task, [...inputs], options);
  }

  /**
   * Re-attach to a job by id, from any process: reads the job object from the first lane storage
   * that has it, adopts every result record in every lane's storage, and invokes only the tasks
   * that have none.
   */
  async attach<Output = unknown>(jobId: string, options: MapOptions = {}): Promise<Job<Output>> {
    this.assertUsable();
    const read = await this.readJob(jobId, options, true);
    return this.startRun<Output>({ ...read, options, runningSinceMs: Date.now() });
  }

  /**
   * A job's statistics as far as storage tells, without invoking anything. What reading them
   * took is reported apart (`storage.inspection`), so every look at a finished job says the same.
   */
  async inspect(jobId: string, options: Pick<MapOptions, 'lanes'> = {}): Promise<JobStats> {
    this.assertUsable();
    const { manifest, storages, lanes, adopt, setAside } = await this.readJob(jobId, options, false);
    // Counted afresh: the requests the stats report as the client's are those made for the job, and reading it is not.
    const unread: JobStorages = new Map([...storages.keys()].map((laneStorage) => [laneStorage, jobStorageFor(laneStorage)]));
    const stats = this.startRun({ manifest, inputs: undefined, storages: unread, lanes, options: {}, adopt, runningSinceMs: undefined, setAside }).stats();
    const inspection = emptyRequestCounts();
    for (const jobStorage of storages.values()) addRequestCounts(inspection, jobStorage.counting.counts);
    return { ...stats, storage: { ...stats.storage, inspection } };
  }

  /** The most recent jobs in every lane's storage, newest first. */
  async jobs(options: { limit?: number } = {}): Promise<JobSummary[]> {
    this.assertUsable();
    const limit = options.limit ?? 20;
    const byId = new Map<string, JobSummary>();
    for (const laneStorage of storagesOf(this.lanes)) {
      for (const summary of await readJobSummaries(new RetryingStorage(laneStorage.backend), this.layout, limit)) {
        const seen = byId.get(summary.id);
        byId.set(summary.id, seen ? { ...seen, completedTasks: Math.max(seen.completedTasks, summary.completedTasks) } : summary);
      }
    }
    return [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, limit);
  }

  /** Delete job data in every lane's storage: named jobs, jobs older than a duration, or everything under the prefix. */
  async clean(options: CleanOptions): Promise<CleanReport> {
    this.assertUsable();
    const reports = [];
    for (const laneStorage of storagesOf(this.lanes)) reports.push(await deleteJobs(new RetryingStorage(laneStorage.backend), this.layout, options));
    return { jobs: [...new Set(reports.flatMap((report) => report.jobs))].sort(), deletedObjects: reports.reduce((sum, report) => sum + report.deletedObjects, 0) };
  }

  /** A smoke test of the configured backends: a few tiny tasks per lane, end to end. */
  async hello(): Promise<{ backend: string; storage: string; tasks: number; ok: boolean; wallMs: number; coldStarts: number }> {
    const tasks = Math.max(2, Math.min(8, this.lanes.reduce((sum, lane) => sum + lane.controller.ceiling, 0) * 2));
    const job = await this.map((input: number) => ({ input, pid: process.pid }), Array.from({ length: tasks }, (_, index) => index), { label: 'fanout hello' });
    const results = await job.settled();
    const stats = job.stats();
    return {
      backend: this.lanes.map((lane) => lane.compute.name).join(', '),
      storage: [...new Set(this.lanes.map((lane) => lane.storage.backend.name))].join(', '),
      tasks,
      ok: results.every((result) => result.ok && (result.value as { input: number }).input === result.index),
      wallMs: stats.timings.wallMs,
      coldStarts: stats.invocations.coldStarts,
    };
  }

  /** Cancel running jobs and release the backends. Later calls reject with `DISPOSED`. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const run of this.runs) run.cancel();
    for (const lane of this.lanes) await lane.compute.dispose?.();
    for (const laneStorage of storagesOf(this.lanes)) await laneStorage.backend.dispose?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /** The lanes named, or every lane; an unknown name is a `TypeError` listing the configured ones. */
  lanesFor(names: readonly string[] | undefined): Lane[] {
    if (names === undefined) return [...this.lanes];
    if (names.length === 0) throw new TypeError('lanes must name at least one lane.');
    return [...new Set(names)].map((name) => {
      const lane = this.lanes.find((candidate) => candidate.name === name);
      if (!lane) {
        throw new TypeError(`No lane is named "${name}". Configured lanes: ${this.lanes.map((each) => each.name).join(', ')}. Add it under "lanes" in the configuration (or --lanes).`);
      }
      return lane;
    });
  }

  private startRun<Output>({ manifest, inputs, storages, lanes, options, adopt = [], runningSinceMs, setAside = [], repairCode }: RunStart): JobHandle<Output> {
    const { run, handle } = newRun<Output>({ manifest, inputs, storages, lanes, options, config: this.config, layout: this.layout, repairCode, onDone: () => this.runs.delete(run) });
    for (const { record, generation, storage } of adopt) run.adoptRecord(record, run.lanes.find((lane) => lane.lane.storage === storage)!, generation);
    run.setAside.push(...setAside);
    if (runningSinceMs !== undefined) {
      handle.startRunning(runningSinceMs);
      this.runs.add(run);
      run.start();
    }
    return handle;
  }

  /**
   * What running or inspecting the rest of a job takes: its manifest, the lanes it runs over
   * (those it was submitted with, unless `options.lanes` says otherwise), their storages, the
   * records already there, and its inputs when some lane sends them inline. For a run
   * (`needInputs`), objects under its results that are not records are set aside; for an
   * inspection they are only reported.
   */
  private async readJob(jobId: string, options: Pick<MapOptions, 'lanes'>, needInputs: boolean) {
    const candidates = storagesOf(options.lanes ? this.lanesFor(options.lanes) : this.lanes).map((laneStorage) => jobStorageFor(laneStorage));
    // A lane that sends inputs inline at any size needs the whole object: one read.
    const whole = needInputs && !Number.isFinite(this.lanes[0]!.capabilities.storedInputsAboveBytes);
    const located = await findJob(candidates, this.layout, jobId, whole);
    if (!located) {
      throw new FanoutError(
        `No job ${jobId} under "${this.config.prefix}" in ${candidates.map((candidate) => `${candidate.lane.backend.name} storage`).join(' or ')}. \`fanout jobs\` lists the jobs there; a job run over other lanes is found with the same lanes (--lanes).`,
        { code: ErrorCode.JOB_NOT_FOUND, fault: 'caller' },
      );
    }
    const { manifest } = located;
    const lanes = this.lanesOfJob(manifest, options.lanes);
    const storages: JobStorages = new Map(candidates.filter((candidate) => lanes.some((lane) => lane.storage === candidate.lane)).map((candidate) => [candidate.lane, candidate]));
    let inputs = located.inputs;
    if (needInputs && !inputs && lanes.some((lane) => !readsStoredInputs(manifest, lane.capabilities.storedInputsAboveBytes))) {
      inputs = await readJobInputs(located.found.storage, this.layout, manifest);
    }
    const adopt = [];
    const setAside: SetAsideObject[] = [];
    for (const jobStorage of storages.values()) {
      const read = await readRecords(jobStorage.storage, this.layout, manifest, needInputs);
      for (const stored of read.records) adopt.push({ ...stored, storage: jobStorage.lane });
      setAside.push(...read.setAside);
    }
    // A task's latest run first: its retry's record settles it, and the failure before it is stale.
    adopt.sort((a, b) => b.generation - a.generation);
    return { manifest, inputs, storages, lanes, adopt, setAside };
  }

  /** The lanes a stored job runs over: every one it names must be configured here, or records would be missed. */
  private lanesOfJob(manifest: JobManifest, override: readonly string[] | undefined): Lane[] {
    if (override) return this.lanesFor(override);
    if (!manifest.lanes) return [this.lanes[0]!];
    const missing = manifest.lanes.filter((name) => !this.lanes.some((lane) => lane.name === name));
    if (missing.length) {
      throw new FanoutError(
        `Job ${manifest.id} ran over lanes ${manifest.lanes.join(', ')}; this configuration has no lane ${missing.join(', ')}, whose storage may hold results. Connect with the same lanes (--lanes ${manifest.lanes.join(',')}).`,
        { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
      );
    }
    return this.lanesFor(manifest.lanes);
  }

  private assertUsable(): void {
    if (this.disposed) throw new FanoutError('This executor was disposed; call connect() again.', { code: ErrorCode.DISPOSED, fault: 'caller' });
    if ((globalThis as Record<symbol, unknown>)[insideWorker]) {
      throw new FanoutError(
        'A task module started a fanout job while being loaded by a worker. Keep tasks in a module without top-level side effects, and call fanout from another file.',
        { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
      );
    }
  }
}

function describeSource(source: TaskSource): string {
  return source.kind === 'module' ? `${source.file}#${source.exportName}` : 'an inline function';
}
