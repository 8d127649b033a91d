/**
 * The entry point of each local worker process (forked by `LocalCompute`): it opens the client's
 * storage once, wraps one generic `Worker`, and runs the invocations the pool sends it, one at a
 * time, for as long as the pool keeps it.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ErrorCode,
  FanoutError,
  type AdapterPluginV1,
  type InvocationPayloadV1,
  type StorageBackendV1,
  type StorageReferenceV1,
} from '@fanout/spec';
import { Worker } from '@fanout/worker';
import type { TransportedWorkerError } from '@fanout/worker';
import { errnoCode, transportError } from './local-errors.js';

/** First message from the pool: how to open the storage, sent once per process. */
export type RuntimeInitMessage = {
  type: 'init';
  storageReference: StorageReferenceV1;
  /** What relative paths in the storage options, and bare module names, are resolved against. */
  baseDirectory: string;
  /** Where verified code bundles are written to be imported: the pool's private folder. */
  codeDirectory: string;
  /** Records larger than this are not sent back; the client reads them from storage. */
  maxResponseBytes: number;
};

/** Run one invocation. */
export type RuntimeInvokeMessage = {
  type: 'invoke';
  id: number;
  payload: InvocationPayloadV1;
  /** Whether the pool wants the record in the reply (synchronous invocations only). */
  respond: boolean;
};

export type RuntimeRequest = RuntimeInitMessage | RuntimeInvokeMessage;

/** The runtime's answer to one invocation. */
export type RuntimeReply =
  /** The worker is up and the invocation begins; its timeout counts from here. */
  | { type: 'started'; id: number }
  /** `record` is null when it was not asked for or is larger than `maxResponseBytes`. */
  | { type: 'done'; id: number; record: Uint8Array | null }
  /** The invocation could not run at all (a task that throws is a `done` record, not this). */
  | { type: 'failed'; id: number; error: TransportedWorkerError };

let worker: Promise<Worker> | undefined;
let maxResponseBytes = 0;
// The pool sends one invocation at a time; the chain keeps that true even if it did not.
let queue: Promise<void> = Promise.resolve();

async function openStorage(reference: StorageReferenceV1, baseDirectory: string): Promise<StorageBackendV1> {
  const loaded = (await importStorageModule(reference.module, baseDirectory)) as { default?: unknown };
  const plugin = (loaded.default ?? loaded) as Partial<AdapterPluginV1>;
  if (plugin.specificationVersion !== 'v1' || typeof plugin.createStorage !== 'function') {
    throw new FanoutError(
      `The module ${JSON.stringify(reference.module)} does not export a v1 adapter plugin with createStorage as its default export, so local worker processes cannot open the job's storage.`,
      { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
    );
  }
  return plugin.createStorage(reference.options, { configPath: 'storage.options', baseDirectory });
}

async function importStorageModule(specifier: string, baseDirectory: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (error) {
    const isBareName = !specifier.startsWith('.') && !specifier.startsWith('file:') && !isAbsolute(specifier);
    if (errnoCode(error) !== 'ERR_MODULE_NOT_FOUND' || !isBareName) throw error;
    // The storage adapter may be a dependency of the user's project and not visible from this
    // package's folder: look it up from the project instead.
    try {
      const resolved = createRequire(join(baseDirectory, 'package.json')).resolve(specifier);
      return await import(pathToFileURL(resolved).href);
    } catch {
      throw new FanoutError(
        `Local worker processes cannot import the storage module ${JSON.stringify(specifier)} from ${baseDirectory} or from @fanout/adapter-local. Install it in your project.`,
        { code: ErrorCode.CONFIG_INVALID, fault: 'caller', cause: error },
      );
    }
  }
}

async function runInvocation(message: RuntimeInvokeMessage): Promise<RuntimeReply> {
  try {
    if (!worker) {
      throw new FanoutError('The local worker process received an invocation before its storage settings.', {
        code: ErrorCode.PROTOCOL_ERROR,
      });
    }
    const ready = await worker;
    // The invocation's clock starts now: process start and storage opening are not the task's time.
    send({ type: 'started', id: message.id });
    const { encoded, respond } = await ready.handle({ ...message.payload, respond: message.respond }, { maxResponseBytes });
    const record = respond ? encoded : null;
    return { type: 'done', id: message.id, record };
  } catch (error) {
    return { type: 'failed', id: message.id, error: transportError(error) };
  }
}

function send(reply: RuntimeReply): void {
  process.send?.(reply, undefined, undefined, (error: Error | null) => {
    // The pool is gone; nobody is left to run work for.
    if (error) process.exit(0);
  });
}

function onMessage(message: RuntimeRequest): void {
  if (message.type === 'init') {
    maxResponseBytes = message.maxResponseBytes;
    worker = openStorage(message.storageReference, message.baseDirectory).then(
      // Task output is captured into the record's log tail, not echoed over the client's terminal.
      (storage) => new Worker({ storage, codeDirectory: message.codeDirectory, echoLogs: false }),
    );
    // A storage that cannot be opened fails each invocation with its reason; keep it from being unhandled meanwhile.
    worker.catch(() => undefined);
    return;
  }
  if (message.type === 'invoke') {
    queue = queue.then(async () => send(await runInvocation(message)));
  }
}

if (process.send === undefined) {
  process.stderr.write('local-runtime.js is started by @fanout/adapter-local through child_process.fork, not run directly.\n');
  process.exitCode = 1;
} else {
  // The client exited or was killed: stop instead of lingering as an orphan.
  process.on('disconnect', () => process.exit(0));
  process.on('message', onMessage);
}
