/**
 * The child half of `WorkerProcess`: an entry file calls {@link serveWorkerProcess} with how to
 * open its worker from the init message's settings, and then runs the invocations its
 * supervisor sends, one at a time, for as long as the supervisor keeps it.
 */
import { ErrorCode, type StorageBackendV1 } from '@fanout/spec';
import { transportWorkerError, type TransportedWorkerError } from './worker-failure.js';
import type { WorkerProcessInit, WorkerProcessReply, WorkerProcessRequest } from './worker-process.js';
import type { Worker } from './worker.js';

/** What a child's entry opens once: the worker, and the storage failures are reported to. */
export type OpenedWorker = { worker: Pick<Worker, 'handle'>; storage: StorageBackendV1 };

export type ServeWorkerProcessOptions = {
  /** Open the worker from the supervisor's settings; a rejection fails each invocation with its reason. */
  open: (settings: unknown) => Promise<OpenedWorker> | OpenedWorker;
  /** Describe a refusal for the trip back. Default: `transportWorkerError(error, 'The worker process')`. */
  transportError?: (error: unknown) => TransportedWorkerError;
};

/** Serve the supervisor on this process's IPC channel. Only for a process started by `WorkerProcess`. */
export function serveWorkerProcess(options: ServeWorkerProcessOptions): void {
  if (process.send === undefined) {
    process.stderr.write(`${process.argv[1] ?? 'This file'} is started by a fanout worker supervisor through child_process.fork, not run directly.\n`);
    process.exitCode = 1;
    return;
  }
  const transport = options.transportError ?? ((error: unknown) => transportWorkerError(error, 'The worker process'));
  let opened: Promise<OpenedWorker> | undefined;
  let maxResponseBytes = 0;
  // The supervisor sends one invocation at a time; the chain keeps that true even if it did not.
  let queue: Promise<void> = Promise.resolve();

  const send = (reply: WorkerProcessReply) => {
    process.send?.(reply, undefined, undefined, (error: Error | null) => {
      // The supervisor is gone; nobody is left to run work for.
      if (error) process.exit(0);
    });
  };
  // The invocation running now, if any: a stray error is reported as its crash.
  let running: number | undefined;
  const ready = (): Promise<OpenedWorker> => opened ?? Promise.reject(new Error('an invocation came before the init message'));

  const invoke = async (id: number, payload: WorkerProcessRequest & { type: 'invoke' }): Promise<WorkerProcessReply> => {
    try {
      const { worker } = await ready();
      // The invocation's clock starts now: process start and storage opening are not the task's time.
      running = id;
      send({ type: 'started', id });
      const { encoded, respond } = await worker.handle({ ...payload.payload, respond: payload.respond }, { maxResponseBytes });
      return { type: 'done', id, record: respond ? encoded : null };
    } catch (error) {
      return { type: 'failed', id, error: transport(error) };
    } finally {
      running = undefined;
    }
  };
  const report = async (id: number, key: string, failure: Uint8Array): Promise<WorkerProcessReply> => {
    try {
      const { storage } = await ready();
      await storage.put(key, failure);
      return { type: 'reported', id, ok: true };
    } catch {
      return { type: 'reported', id, ok: false };
    }
  };

  const onMessage = (message: WorkerProcessRequest) => {
    if (message.type === 'init') {
      const init: WorkerProcessInit = message;
      maxResponseBytes = init.maxResponseBytes;
      opened = Promise.resolve().then(() => options.open(init.settings));
      // A worker that cannot be opened fails each invocation with its reason; keep it from being unhandled meanwhile.
      opened.catch(() => undefined);
    } else if (message.type === 'invoke') {
      queue = queue.then(async () => send(await invoke(message.id, message)));
    } else if (message.type === 'report') {
      void report(message.id, message.key, message.failure).then(send);
    }
  };
  // What the task's code threw outside its call (from a timer, a promise nobody awaited) cannot be
  // an outcome of its task, and the process may be in any state: say what it was, and end, as
  // Node would. The supervisor reports it as the invocation's crash, the task's doing.
  process.on('uncaughtException', (error, origin) => {
    const exit = () => process.exit(70);
    if (running === undefined) exit();
    const name = error instanceof Error ? error.name : typeof error;
    const message = error instanceof Error ? error.message : String(error);
    const where = origin === 'unhandledRejection' ? 'a promise it did not await rejected with' : 'it threw';
    const crashed: WorkerProcessReply = {
      type: 'crashed',
      id: running!,
      error: {
        code: ErrorCode.WORKER_CRASHED,
        message: `The task's code crashed its worker process outside its call: ${where} ${name}: ${message}`,
        retryable: true,
        fault: 'user-code',
        name,
        ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
      },
    };
    process.stderr.write(`${error instanceof Error && error.stack ? error.stack : message}\n`);
    try {
      process.send?.(crashed, undefined, undefined, exit);
    } catch {
      exit();
    }
  });
  // The supervisor exited or was killed: stop instead of lingering as an orphan.
  process.on('disconnect', () => process.exit(0));
  process.on('message', onMessage);
}
