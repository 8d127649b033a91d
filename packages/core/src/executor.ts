import {
  ErrorCode,
  FanoutError,
  PROTOCOL_VERSION,
  resolveComputeCapabilities,
  type ComputeBackendV1,
  type ResolvedComputeCapabilities,
  type StorageBackendV1,
} from '@fanout/spec';
import { CountingStorage, decodeRecord, serializeValue, serializeValueToParts, totalRequests } from '@fanout/worker';
import { bundleInline, bundleModule, type CodeBundle } from './bundle/bundler.js';
import { resolveTaskSource, type TaskSource } from './bundle/task-source.js';
import type { RetryPolicy } from './config/config-schema.js';
import type { ResolvedConfig } from './config/load-config.js';
import { JobHandle } from './job/job-handle.js';
import { ReducedJob } from './job/reduced-job.js';
import type { Job, JobStats, TaskFunction, TaskReference } from './job/job-types.js';
import { readJobSummaries, deleteJobs, type CleanOptions, type CleanReport, type JobSummary } from './job/job-admin.js';
import { decodeJobManifest, encodeJobObject, inputsOfJobObject, readJobManifest, type JobInputs, type JobManifest } from './protocol/job-object.js';
import { StorageLayout, newJobId } from './protocol/layout.js';
import { RetryingStorage, replayableBody } from './protocol/retrying-storage.js';
import { JobRun } from './scheduler/job-run.js';

/** Options for one job; each falls back to the executor's configured defaults. */
export type MapOptions = {
  /**
   * Tasks per invocation, or `'auto'`: about four invocations per unit of concurrency (the
   * backend's `invocationsPerSlot`), at most 1000 tasks each.
   */
  chunkSize?: number | 'auto';
  /** Most invocations in flight. Default: the configured value, else the backend's `defaultConcurrency`. */
  concurrency?: number;
  /** Deadline of each invocation, in milliseconds (a chunk of tasks shares it). Default: 5 minutes. */
  timeoutMs?: number;
  /** `sync` returns records in responses, `async` collects them from storage. Default: `auto` (sync where supported). */
  mode?: 'auto' | 'sync' | 'async';
  /** Retries allowed per failure class. Default: transient 3, timeout 1, crash 2, outOfMemory 0, userCode 0. */
  retries?: RetryPolicy;
  /** Launch bounded backup invocations for stragglers. Default: `true`. */
  backups?: boolean;
  /**
   * Write every result record to storage. `false` keeps records that come back in a synchronous
   * response out of storage (no storage request per invocation for small results); the client
   * then holds their only copy. Storage never learns those tasks finished: `fanout jobs` counts
   * them as pending, and re-attaching (`fanout results <id>`, `attach`) runs them again, after a
   * crash or a clean finish alike. Large records and asynchronous mode always use storage.
   * Default: `true`.
   */
  durable?: boolean;
  /** How the job is shown in `fanout jobs`. Default: the task's module and export. */
  label?: string;
};

export type ExecutorDependencies = {
  config: ResolvedConfig;
  storage: StorageBackendV1;
  compute: ComputeBackendV1;
};

/** Tasks per invocation at most, when chosen automatically. */
const MAX_AUTO_CHUNK = 1000;

const insideWorker = Symbol.for('fanout.insideWorker');

/**
 * Runs jobs on one compute backend with one storage backend. Made by `connect()`; release it with
 * `dispose()` (or `await using`).
 */
export class Executor {
  readonly config: ResolvedConfig;
  readonly layout: StorageLayout;
  private readonly storage: StorageBackendV1;
  private readonly compute: ComputeBackendV1;
  private readonly capabilities: ResolvedComputeCapabilities;
  private readonly bundles = new Map<string, Promise<CodeBundle>>();
  /** Bundles known to be in storage already, so later jobs skip even the existence check. */
  private readonly uploaded = new Set<string>();
  private readonly runs = new Set<JobRun>();
  private disposed = false;

  constructor(dependencies: ExecutorDependencies) {
    this.config = dependencies.config;
    this.storage = dependencies.storage;
    this.compute = dependencies.compute;
    this.capabilities = resolveComputeCapabilities(dependencies.compute.capabilities);
    const { storedInputsAboveBytes } = this.capabilities;
    if (typeof storedInputsAboveBytes !== 'number' || !(storedInputsAboveBytes >= 0)) {
      throw new TypeError(
        `The ${dependencies.compute.name} compute backend declares capabilities.storedInputsAboveBytes = ${String(storedInputsAboveBytes)}; it must be a number of bytes, at least 0 (Infinity for never).`,
      );
    }
    this.layout = new StorageLayout(dependencies.config.prefix);
  }

  /**
   * Run `task` over every input. Resolves once the job is stored and dispatching; await its
   * results on the handle. The inputs of an array are read until then: leave them unmodified
   * until it resolves. Those of an iterator are copied as they come.
   */
  async map<Input, Output>(
    task: TaskFunction<Input, Output> | TaskReference,
    inputs: Iterable<Input> | AsyncIterable<Input>,
    options: MapOptions = {},
  ): Promise<Job<Awaited<Output>>> {
    this.assertUsable();
    const source = await resolveTaskSource(task as TaskFunction<never>, this.config.baseDirectory);
    // On a backend that reads a large job's inputs from the job object, large views in an array
    // of inputs are referenced rather than copied: the job object is written from them while the
    // caller still awaits map(), and nothing reads them afterwards (a job that turns out small
    // enough to travel inline gets a copy, below). Elsewhere inline payloads are cut after map()
    // returns, so inputs are copied and the caller may reuse its arrays; so are the inputs of an
    // iterator, which may refill one buffer per input.
    const referenceViews = Number.isFinite(this.capabilities.storedInputsAboveBytes) && Array.isArray(inputs);
    const serialized: Uint8Array[][] = [];
    for await (const input of inputs) serialized.push(serializeInput(input, serialized.length, referenceViews));
    const bundle = await this.bundleFor(source);
    const exportName = source.kind === 'module' ? source.exportName : 'default';
    if (!bundle.exports.includes(exportName)) {
      throw new FanoutError(
        `${describeSource(source)} has no export named "${exportName}". It exports: ${bundle.exports.join(', ') || 'nothing'}.`,
        { code: ErrorCode.EXPORT_NOT_FOUND, fault: 'caller' },
      );
    }
    const { counting, storage } = this.jobStorage();
    const concurrency = this.concurrencyFor(options);
    const manifestWithoutOffsets: Omit<JobManifest, 'inputOffsets'> = {
      protocol: PROTOCOL_VERSION,
      id: newJobId(),
      createdMs: Date.now(),
      label: options.label ?? describeSource(source),
      code: { key: this.layout.codeKey(bundle.sha256), sha256: bundle.sha256, exportName },
      taskCount: serialized.length,
      chunkSize: chunkSizeFor(options.chunkSize ?? this.config.defaults.chunkSize, serialized.length, concurrency, this.capabilities.invocationsPerSlot),
      timeoutMs: this.timeoutFor(options),
    };
    await this.upload(storage, bundle);
    const { manifest, parts, inputs: jobInputs } = encodeJobObject(manifestWithoutOffsets, serialized);
    // Payloads are cut as invocations go out, some after map() returns: a job small enough to
    // travel inline cuts them from a copy of its job object when its parts alias the caller's arrays.
    const inlineInputs = this.readsStoredInputs(manifest) ? undefined : referenceViews ? inputsOfJobObject(Buffer.concat(parts), manifest) : jobInputs;
    // Invocations whose inputs travel inline start while the job object is being written; the
    // handle is returned only once it is stored, so every job a caller sees can be re-attached.
    const written = storage.put(this.layout.jobKey(manifest.id), streamParts(parts));
    written.catch(() => undefined);
    const job = this.newHandle<Awaited<Output>>(manifest, inlineInputs, written, counting, storage, options, concurrency, [], true);
    try {
      await written;
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
  call<Input, Output>(
    task: TaskFunction<Input, Output> | TaskReference,
    input: Input,
    options: MapOptions = {},
  ): Promise<Job<Awaited<Output>>> {
    return this.map(task, [input], { ...options, chunkSize: 1 });
  }

  /**
   * Re-attach to a job by id, from any process: reads the job object, adopts every result record
   * already written, and invokes only the tasks that have none.
   */
  async attach<Output = unknown>(jobId: string, options: MapOptions = {}): Promise<Job<Output>> {
    this.assertUsable();
    const { counting, storage } = this.jobStorage();
    const { manifest, inputs } = await this.readJobToRun(storage, jobId);
    const adopt = await this.readRecords(storage, manifest);
    return this.newHandle<Output>(manifest, inputs, Promise.resolve(), counting, storage, options, this.concurrencyFor(options), adopt, true);
  }

  /** A job's statistics as far as storage tells, without invoking anything. */
  async inspect(jobId: string): Promise<JobStats> {
    this.assertUsable();
    const { counting, storage } = this.jobStorage();
    const manifest = await this.readManifest(storage, jobId);
    const adopt = await this.readRecords(storage, manifest);
    const handle = this.newHandle(manifest, undefined, Promise.resolve(), counting, storage, {}, 1, adopt, false);
    return handle.stats();
  }

  /** The most recent jobs in storage, newest first. */
  jobs(options: { limit?: number } = {}): Promise<JobSummary[]> {
    this.assertUsable();
    return readJobSummaries(new RetryingStorage(this.storage), this.layout, options.limit ?? 20);
  }

  /** Delete job data: named jobs, jobs older than a duration, or everything under the prefix. */
  clean(options: CleanOptions): Promise<CleanReport> {
    this.assertUsable();
    return deleteJobs(new RetryingStorage(this.storage), this.layout, options);
  }

  /** A smoke test of the configured backends: a few tiny tasks, end to end. */
  async hello(): Promise<{ backend: string; storage: string; tasks: number; ok: boolean; wallMs: number; coldStarts: number }> {
    const tasks = Math.max(2, Math.min(8, this.capabilities.defaultConcurrency * 2));
    const job = await this.map((input: number) => ({ input, pid: process.pid }), Array.from({ length: tasks }, (_, index) => index), {
      label: 'fanout hello',
    });
    const results = await job.settled();
    const stats = job.stats();
    return {
      backend: this.compute.name,
      storage: this.storage.name,
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
    await this.compute.dispose?.();
    await this.storage.dispose?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }

  /**
   * Whether every invocation of this job reads its inputs from the job object: the backend
   * declares it does so more cheaply than it receives them inline, for a job this large.
   */
  private readsStoredInputs(manifest: JobManifest): boolean {
    const inputBytes = manifest.inputOffsets.at(-1)! - manifest.inputOffsets[0]!;
    return inputBytes > this.capabilities.storedInputsAboveBytes;
  }

  private newHandle<Output>(
    manifest: JobManifest,
    /** The job's inputs for inline payloads; `undefined` when every invocation reads the job object. */
    inputs: JobInputs | undefined,
    jobObjectWritten: Promise<void>,
    counting: CountingStorage,
    storage: StorageBackendV1,
    options: MapOptions,
    concurrency: number,
    adopt: Parameters<JobRun['adoptRecord']>[0][],
    dispatch: boolean,
  ): JobHandle<Output> {
    const mode = this.modeFor(options);
    const handle = new JobHandle<Output>(manifest, counting, totalRequests(counting.counts), mode);
    const run: JobRun = new JobRun({
      manifest,
      inputs,
      jobObjectWritten,
      jobKey: this.layout.jobKey(manifest.id),
      layout: this.layout,
      compute: this.compute,
      capabilities: this.capabilities,
      storage,
      concurrency,
      mode,
      retries: { ...this.config.defaults.retries, ...options.retries },
      backups: options.backups ?? this.config.defaults.backups,
      durable: options.durable ?? this.config.defaults.durable,
      onResult: (result) => handle.recordResult(result),
      onDone: () => {
        this.runs.delete(run);
        handle.recordDone();
      },
    });
    handle.bind(run);
    for (const record of adopt) run.adoptRecord(record);
    if (dispatch) {
      this.runs.add(run);
      run.start();
    }
    return handle;
  }

  /**
   * What running the rest of a job takes: its manifest, and its inputs if they go inline. A
   * backend that sends inputs inline at any size needs the whole object: one read. Otherwise the
   * manifest comes first, and the inputs are read whole only for a job small enough to go inline.
   */
  private async readJobToRun(storage: StorageBackendV1, jobId: string): Promise<{ manifest: JobManifest; inputs: JobInputs | undefined }> {
    if (!Number.isFinite(this.capabilities.storedInputsAboveBytes)) {
      const bytes = await this.readJobObject(storage, jobId);
      const manifest = decodeJobManifest(bytes, this.jobKeyOf(jobId));
      return { manifest, inputs: inputsOfJobObject(bytes, manifest) };
    }
    const manifest = await this.readManifest(storage, jobId);
    if (this.readsStoredInputs(manifest)) return { manifest, inputs: undefined };
    return { manifest, inputs: inputsOfJobObject(await this.readJobObject(storage, jobId), manifest) };
  }

  /** The job's manifest, without its inputs. */
  private async readManifest(storage: StorageBackendV1, jobId: string): Promise<JobManifest> {
    const manifest = await readJobManifest(storage, this.jobKeyOf(jobId));
    return manifest ?? this.jobNotFound(jobId);
  }

  /** The whole job object: the manifest and every input. */
  private async readJobObject(storage: StorageBackendV1, jobId: string): Promise<Uint8Array> {
    const bytes = await storage.get(this.jobKeyOf(jobId));
    return bytes ?? this.jobNotFound(jobId);
  }

  private jobKeyOf(jobId: string): string {
    if (!/^[\w.-]+$/.test(jobId)) throw new TypeError(`"${jobId}" is not a job id; ids look like 20261129-023501-1a2b3c4d.`);
    return this.layout.jobKey(jobId);
  }

  private jobNotFound(jobId: string): never {
    throw new FanoutError(`No job ${jobId} in ${this.storage.name} storage under "${this.config.prefix}". \`fanout jobs\` lists the jobs there.`, {
      code: ErrorCode.JOB_NOT_FOUND,
      fault: 'caller',
    });
  }

  private async readRecords(storage: StorageBackendV1, manifest: JobManifest) {
    const records = [];
    let cursor: string | undefined;
    do {
      const page = await storage.list(this.layout.resultsPrefix(manifest.id), cursor === undefined ? {} : { cursor });
      for (const { key } of page.objects) {
        const bytes = await storage.get(key);
        if (bytes) records.push(decodeRecord(bytes, key));
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return records;
  }

  /**
   * The storage one job uses: every request counted (for `stats()`), and retried when it fails
   * retryably. Retries wrap the counter, so each attempt counts as the request it is.
   */
  private jobStorage(): { counting: CountingStorage; storage: StorageBackendV1 } {
    const counting = new CountingStorage(this.storage);
    return { counting, storage: new RetryingStorage(counting) };
  }

  private bundleFor(source: TaskSource): Promise<CodeBundle> {
    const cacheKey = source.kind === 'module' ? `module:${source.file}` : `inline:${source.source}`;
    let bundle = this.bundles.get(cacheKey);
    if (!bundle) {
      bundle = source.kind === 'module' ? bundleModule(source.file) : bundleInline(source.source, source.resolveDirectory);
      this.bundles.set(cacheKey, bundle);
      bundle.catch(() => this.bundles.delete(cacheKey));
    }
    return bundle;
  }

  /**
   * Store the bundle unless this executor did already: one conditional create, which leaves an
   * existing copy untouched, or else one plain put. The key is the content's hash, so
   * overwriting writes the same bytes; a HEAD first would cost a request on every job.
   */
  private async upload(storage: StorageBackendV1, bundle: CodeBundle): Promise<void> {
    if (this.uploaded.has(bundle.sha256)) return;
    const key = this.layout.codeKey(bundle.sha256);
    if (storage.create && storage.capabilities.conditionalCreate) await storage.create(key, bundle.contents);
    else await storage.put(key, bundle.contents);
    this.uploaded.add(bundle.sha256);
  }

  private concurrencyFor(options: MapOptions): number {
    const wanted = options.concurrency ?? this.config.defaults.concurrency ?? this.capabilities.defaultConcurrency;
    if (!Number.isInteger(wanted) || wanted < 1) throw new TypeError(`concurrency must be a whole number of at least 1; got ${wanted}.`);
    return Math.min(wanted, this.capabilities.maxConcurrency);
  }

  private timeoutFor(options: MapOptions): number {
    const timeoutMs = options.timeoutMs ?? this.config.defaults.timeoutMs;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError(`timeoutMs must be a positive number; got ${timeoutMs}.`);
    if (timeoutMs > this.capabilities.maxTimeoutMs) {
      throw new TypeError(`timeoutMs ${timeoutMs} is above the ${this.compute.name} backend's limit of ${this.capabilities.maxTimeoutMs} ms.`);
    }
    return timeoutMs;
  }

  private modeFor(options: MapOptions): 'sync' | 'async' {
    const mode = options.mode ?? this.config.defaults.mode;
    if (mode === 'auto') return this.capabilities.syncInvoke ? 'sync' : 'async';
    const supported = mode === 'sync' ? this.capabilities.syncInvoke : this.capabilities.asyncInvoke;
    if (!supported) throw new TypeError(`The ${this.compute.name} backend does not support mode "${mode}".`);
    return mode;
  }

  private assertUsable(): void {
    if (this.disposed) {
      throw new FanoutError('This executor was disposed; call connect() again.', { code: ErrorCode.DISPOSED, fault: 'caller' });
    }
    if ((globalThis as Record<symbol, unknown>)[insideWorker]) {
      throw new FanoutError(
        'A task module started a fanout job while being loaded by a worker. Keep tasks in a module without top-level side effects, and call fanout from another file.',
        { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
      );
    }
  }
}

/** Parts at least this large are streamed as they are; smaller ones are joined into blocks. */
const LARGE_PART_BYTES = 16 * 1024;

/** Most bytes of small parts joined into one block. */
const SMALL_PARTS_BLOCK_BYTES = 1024 * 1024;

/**
 * The job object's bytes, replayable for retries. Large parts (inputs' serialized bytes, or the
 * caller's own arrays) are streamed as they are, never copied on the client: the storage decides
 * how to batch its writes (the folder storage uses vectored writes, an S3 upload gathers its own
 * parts). Runs of small parts (frame headers, small inputs) are joined, so that a job of many
 * small inputs is not streamed as tens of thousands of chunks.
 */
function streamParts(parts: readonly Uint8Array[]): AsyncIterable<Uint8Array> {
  return replayableBody(async function* () {
    let small: Uint8Array[] = [];
    let size = 0;
    for (const part of parts) {
      if (part.byteLength < LARGE_PART_BYTES) {
        small.push(part);
        size += part.byteLength;
        if (size < SMALL_PARTS_BLOCK_BYTES) continue;
      }
      if (size > 0) yield Buffer.concat(small, size);
      small = [];
      size = 0;
      if (part.byteLength >= LARGE_PART_BYTES) yield part;
    }
    if (size > 0) yield Buffer.concat(small, size);
  });
}

function serializeInput(input: unknown, index: number, referenceViews: boolean): Uint8Array[] {
  try {
    return referenceViews ? serializeValueToParts(input) : [serializeValue(input)];
  } catch (error) {
    throw new FanoutError(
      `Input ${index} cannot be serialized: ${(error as Error).message}. Inputs must be plain data (objects, arrays, strings, numbers, Uint8Array, Date, Map, Set, BigInt), not functions, symbols or class instances with methods.`,
      { code: ErrorCode.INPUT_NOT_SERIALIZABLE, fault: 'caller', taskIndex: index, cause: error },
    );
  }
}

export function chunkSizeFor(chunkSize: number | 'auto', taskCount: number, concurrency: number, invocationsPerSlot = 4): number {
  if (!(Number.isFinite(invocationsPerSlot) && invocationsPerSlot > 0)) {
    throw new TypeError(`The compute backend declares capabilities.invocationsPerSlot = ${invocationsPerSlot}; it must be a positive number.`);
  }
  if (chunkSize !== 'auto') {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new TypeError(`chunkSize must be 'auto' or a whole number of at least 1; got ${chunkSize}.`);
    return chunkSize;
  }
  // A few invocations per slot balance the tail without paying per-invocation overhead per task.
  return Math.max(1, Math.min(MAX_AUTO_CHUNK, Math.ceil(taskCount / (concurrency * invocationsPerSlot))));
}

function describeSource(source: TaskSource): string {
  return source.kind === 'module' ? `${source.file}#${source.exportName}` : 'an inline function';
}
