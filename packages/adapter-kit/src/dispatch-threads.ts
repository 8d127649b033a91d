import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  ErrorCode,
  FanoutError,
  type ComputeBackendV1,
  type ErrorFault,
  type InvocationPayloadV1,
  type InvokeOptions,
  type InvokeResultV1,
} from '@fanout/spec';
import { abortError } from './abort.js';

/**
 * Dispatching invocations from worker threads.
 *
 * A cloud SDK spends most of an invocation's client time on the CPU: building the request,
 * signing it, running its middleware, driving the socket (about 0.6 ms per Lambda Invoke with
 * the AWS SDK on one core). One thread therefore tops out at a rate well below what a job of
 * thousands of tasks asks for. A compute backend that wants more gives each of a few threads
 * its own client: the main thread only hands payloads over and takes results back.
 *
 * The thread side is a module that calls {@link serveComputeInThreads} with a factory building
 * the backend from cloneable settings; the main side is a {@link DispatchThreadPool} made with
 * that module's URL and the settings.
 */

type InvokeRequest = { type: 'invoke'; id: number; payload: InvocationPayloadV1; mode: InvokeOptions['mode'] };
type AbortRequest = { type: 'abort'; id: number };
type ThreadRequest = InvokeRequest | AbortRequest;

type ThreadReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; result: InvokeResultV1 }
  | { type: 'failed'; id: number; error: TransportedError };

/** A thrown value as it crosses the thread boundary: a `FanoutError` keeps every field. */
type TransportedError = {
  fanout: boolean;
  name: string;
  message: string;
  stack?: string;
  code?: string;
  retryable?: boolean;
  fault?: ErrorFault;
  retryAfterMs?: number;
  taskIndex?: number;
  remoteName?: string;
  remoteStack?: string;
  logTail?: string;
};

function transport(error: unknown): TransportedError {
  if (FanoutError.isInstance(error)) {
    const fields = {
      retryAfterMs: error.retryAfterMs,
      taskIndex: error.taskIndex,
      remoteName: error.remoteName,
      remoteStack: error.remoteStack,
      logTail: error.logTail,
    };
    return {
      fanout: true,
      name: error.name,
      message: error.message,
      stack: error.stack,
      code: error.code,
      retryable: error.retryable,
      fault: error.fault,
      ...Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)),
    };
  }
  const thrown = error instanceof Error ? error : new Error(String(error));
  return { fanout: false, name: thrown.name, message: thrown.message, stack: thrown.stack };
}

function rebuild(transported: TransportedError): Error {
  if (!transported.fanout) {
    // A TypeError stays a TypeError: a programmer mistake, reported as such.
    const error = transported.name === 'TypeError' ? new TypeError(transported.message) : new Error(transported.message);
    error.stack = transported.stack;
    return error;
  }
  const { message, code, retryable, fault, retryAfterMs, taskIndex, remoteName, remoteStack, logTail } = transported;
  const error = new FanoutError(message, {
    code: code as ErrorCode,
    ...(retryable !== undefined ? { retryable } : {}),
    ...(fault !== undefined ? { fault } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(taskIndex !== undefined ? { taskIndex } : {}),
    ...(remoteName !== undefined ? { remoteName } : {}),
    ...(remoteStack !== undefined ? { remoteStack } : {}),
    ...(logTail !== undefined ? { logTail } : {}),
  });
  // The thread's stack says where the SDK failed, which is what a reader of the error wants.
  if (transported.stack) error.stack = transported.stack;
  return error;
}

/**
 * Serve a compute backend to the {@link DispatchThreadPool} that started this thread: build it
 * with `create(settings)` from the pool's settings, then run every invocation the pool sends.
 * Call it at the top level of the thread module; it does nothing on the main thread.
 */
export function serveComputeInThreads<Settings>(create: (settings: Settings) => ComputeBackendV1): void {
  if (isMainThread || !parentPort) return;
  const port = parentPort;
  const compute = create(workerData as Settings);
  const controllers = new Map<number, AbortController>();
  port.on('message', (request: ThreadRequest) => {
    if (request.type === 'abort') {
      controllers.get(request.id)?.abort();
      return;
    }
    const controller = new AbortController();
    controllers.set(request.id, controller);
    // Through a promise, so that an invoke that throws synchronously is a failed invocation, not
    // an uncaught exception that would take the thread and everything in flight on it down.
    Promise.resolve()
      .then(() => compute.invoke(request.payload, { mode: request.mode, signal: controller.signal }))
      .then(
        (result) => reply({ type: 'done', id: request.id, result }),
        (error: unknown) => reply({ type: 'failed', id: request.id, error: transport(error) }),
      )
      .finally(() => controllers.delete(request.id));
  });

  function reply(message: ThreadReply & { id: number }): void {
    try {
      port.postMessage(message);
    } catch (error) {
      // A result that cannot be cloned is the backend's mistake, reported as such.
      port.postMessage({ type: 'failed', id: message.id, error: transport(error) } satisfies ThreadReply);
    }
  }
  port.postMessage({ type: 'ready' } satisfies ThreadReply);
}

export type DispatchThreadPoolOptions = {
  /** The thread module: it calls {@link serveComputeInThreads}. Must be plain JavaScript Node can load. */
  entry: URL;
  /** What the thread's factory builds the backend from; structured-cloned, so plain data only. */
  settings: unknown;
  /** How many threads. */
  threads: number;
  /** The backend's name, for error messages. */
  name: string;
  /** Variables set in the threads' copy of `process.env`, over the process's own. */
  env?: Record<string, string>;
};

type Pending = {
  resolve: (result: InvokeResultV1) => void;
  reject: (error: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
};

type Thread = {
  worker: Worker;
  ready: boolean;
  /** Set when the thread failed or exited; both events come for an uncaught exception. */
  gone: boolean;
  inFlight: Map<number, Pending>;
};

/**
 * Worker threads, each with its own backend built from the same settings, that invocations are
 * spread over (to the thread with the fewest in flight). Threads start on the first
 * {@link start}; until one is ready, {@link ready} is false and the caller dispatches in its own
 * thread, so a job never waits for the pool to come up. A thread that dies fails its invocations
 * with a retryable `BACKEND_UNAVAILABLE` (core retries them) and is replaced on the next start;
 * one that dies before it was ever ready stops the pool from starting threads at all (the caller
 * goes on in its own thread).
 */
export class DispatchThreadPool {
  private readonly threads: Thread[] = [];
  private nextId = 0;
  private disposed = false;
  /** A thread died before it was ever ready (it cannot load, or its settings fail): stop trying. */
  private broken = false;

  constructor(private readonly options: DispatchThreadPoolOptions) {
    if (!Number.isSafeInteger(options.threads) || options.threads < 1) {
      throw new TypeError(`DispatchThreadPool needs threads >= 1, got ${options.threads}.`);
    }
  }

  /** Whether the thread module exists: a client bundled into one file has no separate module to start. */
  static available(entry: URL): boolean {
    return existsSync(fileURLToPath(entry));
  }

  /** Whether at least one thread is up and taking invocations. */
  get ready(): boolean {
    return this.threads.some((thread) => thread.ready);
  }

  /** Start the threads that are not running. Idempotent. */
  start(): void {
    if (this.disposed || this.broken) return;
    try {
      while (this.threads.length < this.options.threads) this.threads.push(this.spawn());
    } catch {
      // The thread module cannot be started here at all: the caller goes on in its own thread.
      this.broken = true;
    }
  }

  /** Run one invocation on the least busy ready thread. Call only when {@link ready}. */
  invoke(payload: InvocationPayloadV1, options: InvokeOptions): Promise<InvokeResultV1> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(abortError(signal));
    let chosen: Thread | undefined;
    for (const thread of this.threads) {
      if (thread.ready && (!chosen || thread.inFlight.size < chosen.inFlight.size)) chosen = thread;
    }
    if (!chosen) return Promise.reject(new TypeError('DispatchThreadPool.invoke called with no thread ready; check ready first.'));
    const thread = chosen;
    const id = (this.nextId += 1);
    return new Promise<InvokeResultV1>((resolve, reject) => {
      const pending: Pending = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        // Settle at once, as an in-thread backend would; the thread closes the request behind it.
        pending.onAbort = () => {
          if (!thread.inFlight.delete(id)) return;
          if (thread.inFlight.size === 0) thread.worker.unref();
          thread.worker.postMessage({ type: 'abort', id } satisfies ThreadRequest);
          reject(abortError(signal));
        };
        signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      thread.inFlight.set(id, pending);
      if (thread.inFlight.size === 1) thread.worker.ref();
      thread.worker.postMessage({ type: 'invoke', id, payload, mode: options.mode } satisfies ThreadRequest);
    });
  }

  /** Stop every thread; invocations still in flight fail with `DISPOSED`. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const threads = this.threads.splice(0);
    for (const thread of threads) {
      this.failAll(thread, new FanoutError(`The ${this.options.name} dispatch threads were disposed.`, { code: ErrorCode.DISPOSED, fault: 'caller' }));
    }
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private spawn(): Thread {
    const worker = new Worker(this.options.entry, {
      workerData: this.options.settings,
      ...(this.options.env ? { env: { ...process.env, ...this.options.env } } : {}),
    });
    const thread: Thread = { worker, ready: false, gone: false, inFlight: new Map() };
    // An idle pool must not keep the client's process alive; work in flight does (see settle).
    worker.unref();
    worker.on('message', (reply: ThreadReply) => {
      if (reply.type === 'ready') {
        thread.ready = true;
        return;
      }
      const pending = thread.inFlight.get(reply.id);
      if (!pending) return; // aborted meanwhile
      thread.inFlight.delete(reply.id);
      this.release(thread, pending);
      if (reply.type === 'done') pending.resolve(reply.result);
      else pending.reject(rebuild(reply.error));
    });
    const lost = (reason: string) => {
      if (thread.gone) return;
      thread.gone = true;
      if (!thread.ready) this.broken = true;
      thread.ready = false;
      const index = this.threads.indexOf(thread);
      if (index >= 0) this.threads.splice(index, 1);
      this.failAll(
        thread,
        new FanoutError(`A ${this.options.name} dispatch thread ${reason}; the invocation may or may not have been sent.`, {
          code: ErrorCode.BACKEND_UNAVAILABLE,
          retryable: true,
          fault: 'backend',
        }),
      );
    };
    worker.on('error', (error) => lost(`failed: ${error.message}`));
    worker.on('exit', (code) => lost(`exited with code ${code}`));
    return thread;
  }

  private release(thread: Thread, pending: Pending): void {
    if (pending.onAbort) pending.signal?.removeEventListener('abort', pending.onAbort);
    if (thread.inFlight.size === 0) thread.worker.unref();
  }

  private failAll(thread: Thread, error: FanoutError): void {
    const pending = [...thread.inFlight.values()];
    thread.inFlight.clear();
    for (const entry of pending) {
      this.release(thread, entry);
      entry.reject(error);
    }
  }
}
