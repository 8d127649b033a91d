/**
 * The entry point of each local worker process (forked by `LocalCompute`): it opens the client's
 * storage once, wraps one generic `Worker`, and serves the pool as `WorkerProcess` supervises it
 * (`@fanout/worker`), one invocation at a time, for as long as the pool keeps it.
 */
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, FanoutError, type AdapterPluginV1, type StorageBackendV1, type StorageReferenceV1 } from '@fanout/spec';
import { serveWorkerProcess, Worker } from '@fanout/worker';
import { errnoCode, transportError } from './local-errors.js';

/** The settings of the pool's init message: how to open the storage, sent once per process. */
export type LocalRuntimeSettings = {
  storageReference: StorageReferenceV1;
  /** What relative paths in the storage options, and bare module names, are resolved against. */
  baseDirectory: string;
  /** Where verified code bundles are written to be imported: the pool's private folder. */
  codeDirectory: string;
};

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

serveWorkerProcess({
  open: async (settings) => {
    const { storageReference, baseDirectory, codeDirectory } = settings as LocalRuntimeSettings;
    const storage = await openStorage(storageReference, baseDirectory);
    // Task output is captured into the record's log tail, not echoed over the client's terminal.
    return { worker: new Worker({ storage, codeDirectory, echoLogs: false }), storage };
  },
  transportError,
});
