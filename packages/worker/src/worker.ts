import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ErrorCode,
  FanoutError,
  PROTOCOL_VERSION,
  type InvocationPayloadV1,
  type ResultRecordV1,
  type SerializedErrorV1,
  type StorageBackendV1,
  type TaskOutcomeV1,
} from '@fanout/spec';
import { CountingStorage } from './counting-storage.js';
import { captureLogs } from './log-capture.js';
import { encodeInvocationFailure, encodeRecord } from './record-codec.js';
import { rebuildWorkerError, transportWorkerError } from './worker-failure.js';
import { deserializeValue, unframe } from './serialization.js';

export type WorkerOptions = {
  /** The storage the job's code, inputs and results live in. */
  storage: StorageBackendV1;
  /** Where verified code bundles are written so they can be imported. Default: `<tmpdir>/fanout-code`. */
  codeDirectory?: string;
  /** Pass task output through to this process's stdout and stderr as well as capturing it. Default: `true`. */
  echoLogs?: boolean;
};

/** What the runtime calling {@link Worker.handle} can do with a record. */
export type HandleOptions = {
  /**
   * The largest record, in bytes, the runtime can return in its response. A record that fits
   * goes back in the response when the payload asks for it (`respond`); without this, none does.
   */
  maxResponseBytes?: number;
};

/** What one invocation produced. */
export type InvocationResult = {
  record: ResultRecordV1;
  /** The record as written to storage and as returned in a synchronous response. */
  encoded: Uint8Array;
  /** Whether the runtime returns `encoded` in its response: the payload asked, and it fits. */
  respond: boolean;
  /** Whether the record was written to storage (always, unless it is returned and the payload says `durable: false`). */
  stored: boolean;
};

type TaskFunction = (input: unknown) => unknown;

/**
 * The generic worker: one instance per container or process. It keeps the imported code
 * bundles for its whole life, so a warm container fetches each bundle once.
 */
export class Worker {
  private readonly modules = new Map<string, Promise<Record<string, unknown>>>();
  private readonly codeDirectory: string;
  private readonly echoLogs: boolean;

  constructor(private readonly options: WorkerOptions) {
    // Bundles carry inline source maps: stacks then name the user's files and lines.
    process.setSourceMapsEnabled(true);
    this.codeDirectory = options.codeDirectory ?? join(tmpdir(), 'fanout-code');
    this.echoLogs = options.echoLogs ?? true;
  }

  /**
   * Run one invocation: signal that it started (asynchronous payloads, `startedKey`), fetch the
   * code (once per container), read the inputs (inline, or one ranged GET), run the tasks in order, and write the result record with a conditional create
   * so that the first attempt to finish wins; with `durable: false`, a record that goes back in
   * the response (`options.maxResponseBytes`) is not written. A task that throws becomes a
   * `USER_CODE_ERROR` outcome; the other tasks still run.
   *
   * Rejects only when the invocation as a whole cannot run: a payload of another protocol
   * version (`PROTOCOL_ERROR`), a bundle that fails verification (`CODE_INTEGRITY_FAILED`), or a
   * storage failure; an asynchronous payload's rejection is also written at its `failedKey`.
   */
  async handle(payload: InvocationPayloadV1, options: HandleOptions = {}): Promise<InvocationResult> {
    assertPayload(payload);
    try {
      return await this.run(payload, options);
    } catch (error) {
      await this.reportFailure(payload, error);
      throw error;
    }
  }

  /**
   * An asynchronous invocation's rejection reaches nobody (a platform discards it, or retries the
   * same payload), so it is also written at the payload's `failedKey`, where the client finds it
   * at its next listing and acts on it at once: repairs a corrupt bundle, retries a storage
   * failure. Best effort: when even this write fails, the client's deadlines still find the
   * invocation.
   */
  private async reportFailure(payload: InvocationPayloadV1, error: unknown): Promise<void> {
    if (payload.failedKey === undefined) return;
    const failure = FanoutError.isInstance(error) ? error : rebuildWorkerError(transportWorkerError(error, 'The worker'));
    await this.options.storage.put(payload.failedKey, encodeInvocationFailure(failure)).catch(() => undefined);
  }

  private async run(payload: InvocationPayloadV1, options: HandleOptions): Promise<InvocationResult> {
    const startedMs = Date.now();
    const storage = new CountingStorage(this.options.storage);
    const coldStart = !this.modules.has(payload.code.sha256);
    // The start signal goes out beside the code and input reads, not before them; it only tells
    // the client the invocation is alive, so losing it must not lose the work.
    const signalled = payload.startedKey === undefined ? undefined : storage.put(payload.startedKey, new Uint8Array(0)).catch(() => undefined);
    const module = await this.loadCode(payload, storage);
    const inputs = await readInputs(payload, storage);

    const task = module[payload.code.exportName];
    const { value: outcomes, tail } = await captureLogs(this.echoLogs, () =>
      runTasks(typeof task === 'function' ? (task as TaskFunction) : undefined, payload, inputs),
    );

    await signalled;
    const canCreate = storage.create !== undefined;
    // The record counts its own write. When it travels in the response alone (`durable: false`
    // and it fits), that write does not happen: it is uncounted and the (small) record encoded again.
    const maxResponseBytes = payload.respond ? (options.maxResponseBytes ?? 0) : 0;
    storage.counts[canCreate ? 'create' : 'put'] += 1;
    const record: ResultRecordV1 = {
      protocol: PROTOCOL_VERSION,
      jobId: payload.jobId,
      attempt: payload.attempt,
      tasks: payload.tasks,
      outcomes,
      startedMs,
      finishedMs: Date.now(),
      coldStart,
      logTail: tail,
      storage: storage.counts,
      ...(signalled ? { signalled: true } : {}),
    };
    let encoded = encodeRecord(record);
    if (payload.durable === false && encoded.byteLength <= maxResponseBytes) {
      storage.counts[canCreate ? 'create' : 'put'] -= 1; // record.storage is this same object
      encoded = encodeRecord(record);
      return { record, encoded, respond: true, stored: false };
    }
    // A duplicate (a retry or a backup that lost the race) leaves the first record in place; its
    // own record still goes back in a synchronous response, and is interchangeable with it.
    if (canCreate) await this.options.storage.create!(payload.resultKey, encoded);
    else await this.options.storage.put(payload.resultKey, encoded);
    return { record, encoded, respond: encoded.byteLength <= maxResponseBytes, stored: true };
  }

  private loadCode(payload: InvocationPayloadV1, storage: StorageBackendV1): Promise<Record<string, unknown>> {
    const { sha256 } = payload.code;
    let module = this.modules.get(sha256);
    if (!module) {
      module = this.fetchAndImport(payload, storage);
      this.modules.set(sha256, module);
      // A failed fetch must not poison the cache for the container's next invocation.
      module.catch(() => this.modules.delete(sha256));
    }
    return module;
  }

  private async fetchAndImport(payload: InvocationPayloadV1, storage: StorageBackendV1): Promise<Record<string, unknown>> {
    const { key, sha256 } = payload.code;
    const bundle = await storage.get(key);
    if (!bundle) {
      throw new FanoutError(`The code bundle ${key} is missing from storage; it may have been cleaned up. Resubmit the job.`, {
        code: ErrorCode.PROTOCOL_ERROR,
      });
    }
    const actual = createHash('sha256').update(bundle).digest('hex');
    if (actual !== sha256) {
      throw new FanoutError(`The code bundle ${key} has SHA-256 ${actual}, expected ${sha256}; refusing to run it. The client that submitted the job replaces it with its own copy; a job re-attached elsewhere cannot, so delete the object and submit the job again.`, {
        code: ErrorCode.CODE_INTEGRITY_FAILED,
      });
    }
    await mkdir(this.codeDirectory, { recursive: true });
    const file = join(this.codeDirectory, `${sha256}.mjs`);
    // Write then rename, so a concurrent worker never imports a half-written file.
    const partial = `${file}.${process.pid}.${Date.now()}.partial`;
    await writeFile(partial, bundle);
    await rename(partial, file);
    try {
      return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      // The module itself threw while loading: every task would fail the same way, so this is
      // the user's error, not a crash worth retrying.
      throw new FanoutError(`The task module failed to load: ${(error as Error)?.message ?? String(error)}`, {
        code: ErrorCode.USER_CODE_ERROR,
        fault: 'user-code',
        cause: error,
        ...(error instanceof Error ? { remoteName: error.name, ...(error.stack ? { remoteStack: error.stack } : {}) } : {}),
      });
    }
  }
}

function assertPayload(payload: InvocationPayloadV1): void {
  if (payload?.protocol !== PROTOCOL_VERSION) {
    throw new FanoutError(
      `This worker speaks job protocol ${PROTOCOL_VERSION} but received ${String(payload?.protocol)}. Deploy the worker that matches your client version.`,
      { code: ErrorCode.PROTOCOL_ERROR },
    );
  }
}

async function readInputs(payload: InvocationPayloadV1, storage: StorageBackendV1): Promise<Uint8Array[]> {
  const { inputs } = payload;
  let framed: Uint8Array | undefined;
  if ('inline' in inputs) {
    framed = inputs.inline;
  } else {
    framed = await storage.get(inputs.key, { range: { start: inputs.start, end: inputs.end } });
    if (!framed) {
      throw new FanoutError(`The job's input object ${inputs.key} is missing from storage.`, {
        code: ErrorCode.PROTOCOL_ERROR,
      });
    }
  }
  const values = unframe(framed);
  if (values.length !== payload.tasks.count) {
    throw new FanoutError(`The payload carries ${values.length} inputs for ${payload.tasks.count} tasks.`, {
      code: ErrorCode.PROTOCOL_ERROR,
    });
  }
  return values;
}

async function runTasks(
  task: TaskFunction | undefined,
  payload: InvocationPayloadV1,
  inputs: readonly Uint8Array[],
): Promise<TaskOutcomeV1[]> {
  const outcomes: TaskOutcomeV1[] = [];
  for (const bytes of inputs) {
    const started = performance.now();
    try {
      if (!task) {
        throw new FanoutError(`The code bundle does not export a function named "${payload.code.exportName}".`, {
          code: ErrorCode.EXPORT_NOT_FOUND,
          fault: 'caller',
        });
      }
      const value = await task(deserializeValue(bytes));
      outcomes.push({ ok: true, value, durationMs: performance.now() - started });
    } catch (error) {
      outcomes.push({ ok: false, error: serializeError(error), durationMs: performance.now() - started });
    }
  }
  return outcomes;
}

/**
 * The stack as far as the user's code: frames from the first one in this file on belong to the
 * worker and its runtime, and would only bury the frames that matter.
 */
function userStack(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const lines = stack.split('\n');
  const workerFrame = lines.findIndex((line, index) => index > 0 && line.includes(import.meta.url));
  return (workerFrame === -1 ? lines : lines.slice(0, workerFrame)).join('\n');
}

function serializeError(error: unknown): SerializedErrorV1 {
  if (FanoutError.isInstance(error)) {
    return { code: error.code, name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  }
  if (error instanceof Error) {
    const stack = userStack(error.stack);
    return { code: ErrorCode.USER_CODE_ERROR, name: error.name, message: error.message, ...(stack ? { stack } : {}) };
  }
  return { code: ErrorCode.USER_CODE_ERROR, name: 'Error', message: `A non-error value was thrown: ${String(error)}` };
}
