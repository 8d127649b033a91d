import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abortError, disposedError, isIntegerBetween } from '@fanout/adapter-kit';
import {
  ErrorCode,
  FanoutError,
  PAYLOAD_ENVELOPE_BYTES,
  type StorageBackendV1,
  type ComputeBackendV1,
  type ComputeCapabilitiesV1,
  type InvocationPayloadV1,
  type InvokeOptions,
  type InvokeResultV1,
  type StorageReferenceV1,
} from '@fanout/spec';
import { encodeInvocationFailure, MAX_TIMER_MS, spawnError, WorkerProcess, type WorkerProcessOutcome } from '@fanout/worker';
import { workerFolderError } from './local-errors.js';
import { createWorkerFolders, ensureWorkerFolders, removeWorkerFolders, WorkerEnvironment, type WorkerFolders } from './local-isolation.js';
import {
  DEFAULT_MEMORY_MB,
  defaultWorkerCount,
  environmentProblem,
  MAX_MEMORY_MB,
  MAX_WORKERS,
  MIN_MEMORY_MB,
  resolveEnvironmentOption,
  type LocalEnvironmentOption,
} from './local-options.js';
import type { LocalRuntimeSettings } from './local-runtime.js';
import { LOCAL_ADAPTER_MODULE } from './local-storage.js';

/**
 * Largest payload, in bytes. The IPC channel has no small limit of its own (V8 serialization over
 * a pipe), so the number only bounds the memory one message costs on both sides. With the folder
 * storage only small jobs use it (see {@link LOCAL_STORED_INPUTS_ABOVE_BYTES}); with another
 * storage, inline saves a request per invocation, so the budget is generous.
 */
export const LOCAL_PAYLOAD_BYTES = 64 * 1024 * 1024;

/**
 * With the folder storage, a job whose inputs are larger than this reads every invocation's
 * inputs from the job object. A child reads its range from the page cache with one system call;
 * inline, the same bytes are joined, serialized, piped in 64 KiB pieces and joined again, on a
 * client busy writing the job object at the same time. Measured on 2,000 inputs of 64 KiB: the
 * client spends about a fifth less CPU and the job finishes no later, although its invocations wait
 * for the job object (40 to 130 ms for 128 MB). A smaller job travels inline: one request per
 * invocation instead of two, and nothing to wait for.
 */
export const LOCAL_STORED_INPUTS_ABOVE_BYTES = 1024 * 1024;

/**
 * Largest record returned over IPC, in bytes. The worker has written the record to storage
 * already, and reading a large one back from the folder (page cache) costs less than pushing it
 * through the pipe in 64 KiB pieces and deserializing the message, so only small records travel
 * in the response.
 */
export const LOCAL_RESPONSE_BYTES = 256 * 1024;

/** The longest delay `setTimeout` supports (about 24.8 days); a longer timeout would fire at once. */
export const MAX_TIMEOUT_MS = MAX_TIMER_MS;

/** How long `dispose` waits for killed children to be reaped. */
const DISPOSE_WAIT_MS = 5000;

/**
 * The built runtime file. `src/` and `dist/` are both one level below the package root, so the
 * same relative path works when this module runs compiled or from source (vitest, tsx); children
 * always run the compiled file, since plain Node cannot load TypeScript.
 */
export const LOCAL_RUNTIME_PATH = join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'local-runtime.js');

/** What a {@link LocalCompute} is built from. */
export type LocalComputeSettings = {
  /** How each child process opens the storage its worker reads code and inputs from and writes records to. */
  storageReference: StorageReferenceV1;
  /** Number of child processes. Default: `os.availableParallelism()`. */
  workers?: number;
  /** Heap limit per child in MiB (`--max-old-space-size`). Default: 2048. */
  memoryMb?: number;
  /** Base for relative paths in the storage options and for finding the storage module. Default: the working directory. */
  baseDirectory?: string;
  /**
   * Environment variables of each child beyond its fixed ones: names to pass through from this
   * process's environment, or names and values (`true` passes through). Read from `process.env`
   * when the pool is made. Default: none. See the `env` compute option.
   */
  env?: LocalEnvironmentOption;
  /**
   * The storage the workers write to, opened in this process: where an asynchronous invocation
   * whose child ended without a record (it crashed, ran out of memory or past its deadline) is
   * reported at the payload's `failedKey` (a worker reports its own refusals), as a cloud
   * platform's failure destination would, so that the client learns of it at its next listing
   * instead of at the invocation's deadline. Without it such failures go unreported.
   */
  failureStorage?: StorageBackendV1;
};

type Invocation = {
  payload: InvocationPayloadV1;
  respond: boolean;
  signal: AbortSignal | undefined;
  settle: (outcome: WorkerProcessOutcome) => void;
  settled: boolean;
  /** The child running it, once it runs. */
  process: WorkerProcess | undefined;
  onAbort: (() => void) | undefined;
};

/** What the pool's children are called in error messages. */
const PROCESS_LABEL = 'local worker process';

/** What the pool tells the user to do about a child whose heap ran out. */
const MEMORY_ADVICE = 'Raise the compute option memoryMb, or make the task use less memory (process its input in smaller pieces).';

/**
 * Compute over a pool of Node child processes on this machine, each running the generic worker.
 * Children start on first use and stay warm (code bundles stay imported) until `dispose()`. An
 * idle pool does not keep the client's process alive, and a child exits on its own when the
 * client goes away.
 */
export class LocalCompute implements ComputeBackendV1 {
  readonly specificationVersion = 'v1';
  readonly name = 'local';
  readonly capabilities: ComputeCapabilitiesV1;
  /** Number of child processes the pool runs at most. */
  readonly workers: number;
  /** Heap limit of each child, in MiB. */
  readonly memoryMb: number;

  private readonly storageReference: StorageReferenceV1;
  private readonly baseDirectory: string;
  private readonly environment: WorkerEnvironment;
  private readonly failureStorage: StorageBackendV1 | undefined;
  /** The pool's private folder, made when the first child starts and removed by `dispose()`. */
  private folders: WorkerFolders | undefined;
  private readonly processes: WorkerProcess[] = [];
  private readonly queue: Invocation[] = [];
  private disposed = false;

  constructor(settings: LocalComputeSettings) {
    const { storageReference, workers = defaultWorkerCount(), memoryMb = DEFAULT_MEMORY_MB } = settings;
    if (typeof storageReference?.module !== 'string') {
      throw new TypeError('LocalCompute needs settings.storageReference ({ module, options }) so its processes can open the storage.');
    }
    if (!isIntegerBetween(workers, 1, MAX_WORKERS)) {
      throw new TypeError(`LocalCompute settings.workers must be a whole number from 1 to ${MAX_WORKERS}, got ${String(workers)}.`);
    }
    if (!isIntegerBetween(memoryMb, MIN_MEMORY_MB, MAX_MEMORY_MB)) {
      throw new TypeError(`LocalCompute settings.memoryMb must be a whole number from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}, got ${String(memoryMb)}.`);
    }
    const environmentError = environmentProblem(settings.env);
    if (environmentError) throw new TypeError(`LocalCompute settings.${environmentError.key} ${environmentError.problem}`);
    if (!existsSync(LOCAL_RUNTIME_PATH)) {
      throw new FanoutError(
        `The local worker runtime ${LOCAL_RUNTIME_PATH} is missing. Build @fanout/adapter-local first (npx tsc -b).`,
        { code: ErrorCode.BACKEND_UNAVAILABLE, fault: 'backend' },
      );
    }
    this.storageReference = storageReference;
    this.baseDirectory = settings.baseDirectory ?? process.cwd();
    this.failureStorage = settings.failureStorage;
    // Read once, now: every child of the pool sees the same variables.
    this.environment = new WorkerEnvironment(resolveEnvironmentOption(settings.env));
    this.workers = workers;
    this.memoryMb = memoryMb;
    this.capabilities = {
      syncInvoke: true,
      asyncInvoke: true,
      maxPayloadBytes: { sync: LOCAL_PAYLOAD_BYTES, async: LOCAL_PAYLOAD_BYTES },
      maxResponseBytes: LOCAL_RESPONSE_BYTES,
      maxTimeoutMs: MAX_TIMEOUT_MS,
      maxMemoryMb: memoryMb,
      defaultConcurrency: workers,
      maxConcurrency: workers,
      classifiesFailures: true,
      // Aborting kills the child running the invocation, before it can write its record.
      cancelsRunningInvocations: true,
      // With any other storage (S3, Redis) a read costs a request: inline is cheaper at any size.
      storedInputsAboveBytes: storageReference.module === LOCAL_ADAPTER_MODULE ? LOCAL_STORED_INPUTS_ABOVE_BYTES : Number.POSITIVE_INFINITY,
      // An invocation costs a small message and one read here, so twice the default number of
      // smaller ones pays: the last ones finish sooner and records are half the size.
      invocationsPerSlot: 8,
      // The workers run on the user's own machine: nobody bills an invocation or its duration.
      prices: { perInvocationUsd: 0, perGbSecondUsd: 0 },
    };
  }

  /**
   * The payload's size as the budget counts it: its inline inputs plus the envelope. The rest of
   * a payload is a few hundred bytes of keys and numbers, and IPC adds no encoding overhead.
   */
  payloadSize(payload: InvocationPayloadV1): number {
    return ('inline' in payload.inputs ? payload.inputs.inline.byteLength : 0) + PAYLOAD_ENVELOPE_BYTES;
  }

  /**
   * Run the worker on one payload in a child process, queueing (first in, first out) while all
   * children are busy. `sync` resolves with the record; `async` resolves once the work is queued,
   * and its outcome is then only visible in storage, as on a cloud platform: its record, or what
   * ended it without one at the payload's `failedKey` (see `failureStorage`).
   */
  invoke(payload: InvocationPayloadV1, options: InvokeOptions): Promise<InvokeResultV1> {
    const mode = options?.mode;
    const signal = options?.signal;
    if (mode !== 'sync' && mode !== 'async') {
      return Promise.reject(new TypeError(`invoke needs options.mode "sync" or "async", got ${String(mode)}.`));
    }
    if (typeof payload?.timeoutMs !== 'number' || !(payload.timeoutMs > 0)) {
      return Promise.reject(new TypeError(`payload.timeoutMs must be a positive number of milliseconds, got ${String(payload?.timeoutMs)}.`));
    }
    if (this.disposed) return Promise.reject(disposedError('local compute'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const size = this.payloadSize(payload);
    if (size > LOCAL_PAYLOAD_BYTES) {
      return Promise.reject(
        new FanoutError(`The payload measures ${size} bytes; local compute accepts at most ${LOCAL_PAYLOAD_BYTES}.`, {
          code: ErrorCode.PAYLOAD_TOO_LARGE,
          fault: 'caller',
        }),
      );
    }
    return new Promise<InvokeResultV1>((resolve, reject) => {
      const settle =
        mode === 'sync'
          ? (outcome: WorkerProcessOutcome) => ('error' in outcome ? reject(outcome.error) : resolve({ mode: 'sync', record: outcome.record }))
          : // Asynchronous work reports through storage only: its record, or the failure at failedKey.
            (outcome: WorkerProcessOutcome) => {
              if ('error' in outcome && !outcome.reported) this.reportFailure(payload, outcome.error, signal);
            };
      const invocation: Invocation = {
        payload,
        respond: mode === 'sync' && payload.respond !== false,
        signal,
        settle,
        settled: false,
        process: undefined,
        onAbort: undefined,
      };
      if (signal) {
        invocation.onAbort = () => this.abort(invocation);
        signal.addEventListener('abort', invocation.onAbort, { once: true });
      }
      this.queue.push(invocation);
      this.dispatch();
      if (mode === 'async') resolve({ mode: 'async' });
    });
  }

  /**
   * Write what ended an asynchronous invocation without a record at its `failedKey`. Not for an
   * invocation the client aborted or this pool's disposal ended: nobody waits for those. A failed
   * write is not retried: the client's start and run deadlines still find the invocation.
   */
  private reportFailure(payload: InvocationPayloadV1, error: FanoutError, signal: AbortSignal | undefined): void {
    if (!this.failureStorage || payload.failedKey === undefined || signal?.aborted || this.disposed) return;
    this.failureStorage.put(payload.failedKey, encodeInvocationFailure(error, error.logTail)).catch(() => undefined);
  }

  /** Kill every child and fail queued and running invocations with `DISPOSED`. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const error = disposedError('local compute');
    for (const invocation of this.queue.splice(0)) this.finish(invocation, { error, reported: false });
    const reaped = this.processes.map((child) => child.reaped);
    for (const child of [...this.processes]) child.stop(error);
    let timer: NodeJS.Timeout | undefined;
    // This timer stays referenced: children are unreferenced, so without it a caller awaiting
    // dispose() at the top level of a module would see the event loop drain and Node exit 13.
    const giveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, DISPOSE_WAIT_MS);
    });
    await Promise.race([Promise.all(reaped), giveUp]);
    clearTimeout(timer);
    if (this.folders) await removeWorkerFolders(this.folders);
  }

  private dispatch(): void {
    while (!this.disposed && this.queue.length > 0) {
      let child = this.processes.find((candidate) => !candidate.busy && !candidate.ended);
      if (!child && this.processes.length < this.workers) {
        try {
          child = this.spawn();
        } catch (error) {
          this.finish(this.queue.shift()!, { error: FanoutError.isInstance(error) ? error : spawnError(PROCESS_LABEL, error), reported: false });
          continue;
        }
      }
      if (!child) return;
      this.start(child, this.queue.shift()!);
    }
  }

  private spawn(): WorkerProcess {
    const folders = this.prepareFolders();
    const settings: LocalRuntimeSettings = { storageReference: this.storageReference, baseDirectory: this.baseDirectory, codeDirectory: folders.code };
    const child = new WorkerProcess({
      entry: LOCAL_RUNTIME_PATH,
      label: PROCESS_LABEL,
      init: { settings, maxResponseBytes: LOCAL_RESPONSE_BYTES },
      heapMb: this.memoryMb,
      // A folder of the pool's own, not the client's: bundles are self-contained and imported by
      // absolute path, and the storage options' relative paths resolve against baseDirectory.
      cwd: folders.work,
      // Only what the README's "Isolation" lists: never the client's credentials or NODE_OPTIONS.
      env: this.environment.forFolders(folders),
      memoryAdvice: MEMORY_ADVICE,
      refusalHint: (code) => this.storageEnvironmentHint(code),
      // A replacement starts on demand.
      onEnded: (ended) => {
        const index = this.processes.indexOf(ended);
        if (index >= 0) this.processes.splice(index, 1);
        queueMicrotask(() => this.dispatch());
      },
    });
    this.processes.push(child);
    return child;
  }

  /** The pool's private folder, made on first use; its parts are made again if they were removed. */
  private prepareFolders(): WorkerFolders {
    try {
      if (this.folders) ensureWorkerFolders(this.folders);
      else this.folders = createWorkerFolders();
      return this.folders;
    } catch (error) {
      throw workerFolderError(error);
    }
  }

  private start(child: WorkerProcess, invocation: Invocation): void {
    invocation.process = child;
    void child.run(invocation.payload, invocation.respond).then((outcome) => {
      this.finish(invocation, outcome);
      this.dispatch();
    });
  }

  /**
   * A storage other than the folder may take credentials or a region from environment variables,
   * which the children do not see unless the `env` option names them: say so when the worker's
   * storage was refused access or found its configuration wanting.
   */
  private storageEnvironmentHint(code: string): string | undefined {
    if (this.storageReference.module === LOCAL_ADAPTER_MODULE) return undefined;
    if (code !== ErrorCode.ACCESS_DENIED && code !== ErrorCode.CONFIG_INVALID) return undefined;
    return `a local worker process sees only its fixed environment variables and those the local backend's env option lists: if the storage ${JSON.stringify(this.storageReference.module)} reads credentials or a region from the environment (such as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_PROFILE), list them in compute.options.env`;
  }

  private abort(invocation: Invocation): void {
    const error = abortError(invocation.signal);
    const queued = this.queue.indexOf(invocation);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finish(invocation, { error, reported: false });
    } else if (invocation.process && !invocation.settled) {
      invocation.process.stop(error);
    }
  }

  private finish(invocation: Invocation, outcome: WorkerProcessOutcome): void {
    if (invocation.settled) return;
    invocation.settled = true;
    if (invocation.onAbort) invocation.signal?.removeEventListener('abort', invocation.onAbort);
    invocation.settle(outcome);
  }
}
