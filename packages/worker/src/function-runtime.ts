/**
 * The runtime of a cloud function, for every platform that runs one (Lambda, Cloud Functions,
 * Azure Functions): the handler decodes the job protocol's payload, runs it in a supervised
 * worker child ({@link WorkerProcess}), and answers with a {@link RuntimeResponse}, which the
 * platform carries back as JSON and the compute backend parses with
 * {@link parseRuntimeResponse}. Both ends of that envelope are here, so they cannot drift.
 *
 * Whatever a task does to its process (`process.exit`, an error thrown from a callback, a full
 * heap, a loop past the payload's `timeoutMs`) ends the child only; the handler sees how, writes
 * the classified failure of an asynchronous invocation at its `failedKey` (through a fresh
 * child, which also serves the next invocation), and answers. The environment stays warm
 * (decision 0014).
 */
import { base64, bytesForBase64Length, decodeJsonPayload, fromBase64 } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { encodeInvocationFailure } from './record-codec.js';
import { rebuildWorkerError, transportWorkerError, type TransportedWorkerError } from './worker-failure.js';
import { WorkerProcess, type WorkerProcessOutcome } from './worker-process.js';

/** Marks a response as the fanout runtime's, so another function's answer is not mistaken for one. */
export const RUNTIME_RESPONSE_VERSION = 1;

/** What a function runtime's handler returns; the platform serializes it as JSON. */
export type RuntimeResponse =
  /** The record, base64, when the payload asked for it and it fits. */
  | { fanout: typeof RUNTIME_RESPONSE_VERSION; record: string }
  /** The record is in storage only (asynchronous mode, or too large for the response). */
  | { fanout: typeof RUNTIME_RESPONSE_VERSION; stored: true }
  /** The invocation could not run (a task that throws is a record, not this). */
  | { fanout: typeof RUNTIME_RESPONSE_VERSION; error: TransportedWorkerError };

/** Room kept in a response for everything but the record's base64 text. */
const RESPONSE_ENVELOPE_BYTES = 1024;

/**
 * Largest encoded record a runtime returns in a synchronous response of at most
 * `responseLimitBytes`: the response is JSON, so the record travels as base64, a third larger.
 * Larger records are read from storage (the runtime wrote them there anyway).
 */
export function maxResponseRecordBytes(responseLimitBytes: number): number {
  return bytesForBase64Length(responseLimitBytes - RESPONSE_ENVELOPE_BYTES);
}

/**
 * Parse a successful response body. Throws `PROTOCOL_ERROR` for anything the runtime would not
 * send, naming `source` ("The Lambda function fanout-runtime") and ending with `advice` (how to
 * point the configuration at the deployed runtime).
 */
export function parseRuntimeResponse(body: Uint8Array | string | undefined, source: string, advice: string): RuntimeResponse {
  const text = typeof body === 'string' ? body : Buffer.from(body ?? new Uint8Array(0)).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const candidate = parsed as Partial<Record<'fanout' | 'record' | 'stored' | 'error', unknown>> | undefined;
  const valid =
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.fanout === RUNTIME_RESPONSE_VERSION &&
    (typeof candidate.record === 'string' ||
      candidate.stored === true ||
      (typeof candidate.error === 'object' && candidate.error !== null && typeof (candidate.error as { code?: unknown }).code === 'string'));
  if (!valid) {
    throw new FanoutError(`${source} answered with something that is not a fanout runtime response (${JSON.stringify(text.slice(0, 200))}). ${advice}`, {
      code: ErrorCode.PROTOCOL_ERROR,
      fault: 'caller',
    });
  }
  return candidate as RuntimeResponse;
}

/**
 * A synchronous invocation's record from its runtime's response: the bytes when they came in
 * it, `undefined` when they are in storage only. The worker's failure is rebuilt and thrown,
 * its message saying `where` it happened ("in Lambda function fanout-runtime").
 */
export function recordOfResponse(answer: RuntimeResponse, where: string): Uint8Array | undefined {
  if ('record' in answer) return fromBase64(answer.record);
  if ('stored' in answer) return undefined;
  throw rebuildWorkerError(answer.error, where);
}

/**
 * Of the function's memory, what the child's heap may not use: the handler's process (Node and
 * the platform's runtime client, about 50 MB resident) and the child's own memory outside its
 * heap (code, young generation, buffers). A heap that fills is then the child's
 * `OUT_OF_MEMORY`, reported with advice, rather than the whole environment killed by the platform.
 */
export const SUPERVISOR_RESERVE_MB = 128;
/** The smallest heap the child gets, whatever the function's memory. */
const MIN_CHILD_HEAP_MB = 64;

/** The child's heap limit for a function of `memoryMb`. */
export function childHeapMb(memoryMb: number): number {
  return Math.max(MIN_CHILD_HEAP_MB, memoryMb - SUPERVISOR_RESERVE_MB);
}

export type FunctionRuntimeOptions = {
  /** The child's entry module: a file that calls `serveWorkerProcess`. */
  entry: string;
  /** What the runtime is called in errors: `The Lambda runtime`. */
  runtimeName: string;
  /** What the child is called in errors: `Lambda worker process`. */
  childLabel: string;
  /** The function's memory in MB; the child's heap is {@link childHeapMb} of it. */
  memoryMb: number;
  /** Largest record returned in a response (see {@link maxResponseRecordBytes}). */
  maxResponseBytes: number;
  /** The child's environment: the function's own, from which it opens its storage. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** What to do about a full heap, on this platform. */
  memoryAdvice: string;
};

/** One function environment's runtime: a warm worker child, started again after one ended. */
export class FunctionRuntime {
  private child: WorkerProcess | undefined;

  constructor(private readonly options: FunctionRuntimeOptions) {}

  /**
   * Run one invocation whose event is the JSON payload. The record comes back in the response
   * when the payload asks for it (synchronous mode) and fits, and is written to storage unless
   * it came back and the payload says `durable: false`. A failure of the invocation as a whole
   * is returned, not thrown: a platform would retry a thrown asynchronous invocation on its own,
   * and core owns retries.
   */
  async handle(event: unknown): Promise<RuntimeResponse> {
    const { runtimeName } = this.options;
    let outcome: WorkerProcessOutcome;
    let failedKey: string | undefined;
    try {
      const payload = decodeJsonPayload(event);
      failedKey = payload.failedKey;
      outcome = await this.workerProcess().run(payload, payload.respond === true);
    } catch (error) {
      return { fanout: RUNTIME_RESPONSE_VERSION, error: transportWorkerError(error, runtimeName) };
    }
    if ('record' in outcome) {
      return outcome.record ? { fanout: RUNTIME_RESPONSE_VERSION, record: base64(outcome.record) } : { fanout: RUNTIME_RESPONSE_VERSION, stored: true };
    }
    const { error, reported } = outcome;
    // Nobody reads an asynchronous invocation's response: its failure goes where the client looks.
    // Not retried when the write fails: the client's run deadline still finds the invocation.
    if (!reported && failedKey !== undefined) await this.workerProcess().report(failedKey, encodeInvocationFailure(error, error.logTail));
    return { fanout: RUNTIME_RESPONSE_VERSION, error: transportWorkerError(error, runtimeName) };
  }

  private workerProcess(): WorkerProcess {
    if (!this.child || this.child.ended) {
      const { entry, childLabel, memoryMb, maxResponseBytes, env, cwd, memoryAdvice } = this.options;
      this.child = new WorkerProcess({
        entry,
        label: childLabel,
        init: { settings: null, maxResponseBytes },
        heapMb: childHeapMb(memoryMb),
        env,
        cwd,
        // The platform collects this process's output into the function's log; the child's joins it.
        stdout: 'inherit',
        echoStderr: true,
        memoryAdvice,
      });
    }
    return this.child;
  }
}
