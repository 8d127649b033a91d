import { ErrorCode, FanoutError, type AdapterPluginV1, type ComputePluginContextV1, type PluginContextV1 } from '@fanout/spec';
import { LocalCompute } from './local-compute.js';
import { parseLocalComputeOptions, parseLocalStorageOptions } from './local-options.js';
import { LOCAL_ADAPTER_MODULE, LocalStorage } from './local-storage.js';

/**
 * The local adapter: a folder for storage and a pool of child processes for compute. It is
 * core's default when nothing is configured, so a first run works on a laptop.
 */
export const localPlugin = {
  specificationVersion: 'v1',
  name: 'local',
  module: LOCAL_ADAPTER_MODULE,

  createStorage(options: unknown, context: PluginContextV1): LocalStorage {
    return new LocalStorage(parseLocalStorageOptions(options, context));
  },

  createCompute(options: unknown, context: ComputePluginContextV1): LocalCompute {
    const { workers, memoryMb, env } = parseLocalComputeOptions(options, context);
    if (!context.storageReference) {
      throw new FanoutError(
        `Local compute (${context.configPath}) runs tasks in child processes that must open the job's storage themselves, but the configured storage "${context.storage.name}" cannot say how to be reopened in another process. Use the local storage, or a storage adapter whose backends expose a reference.`,
        { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
      );
    }
    return new LocalCompute({
      storageReference: context.storageReference,
      workers,
      memoryMb,
      env,
      baseDirectory: context.baseDirectory,
      failureStorage: context.storage,
    });
  },
} as const satisfies AdapterPluginV1;
