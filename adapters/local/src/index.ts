/**
 * `@fanout/adapter-local`: fanout's embedded default backend. Storage is a folder; compute is a
 * pool of warm Node child processes running the generic worker.
 */
import { localPlugin } from './local-plugin.js';

export default localPlugin;
export { localPlugin };
export { LocalStorage, LOCAL_ADAPTER_MODULE, type LocalStorageSettings } from './local-storage.js';
export { LIST_PAGE_SIZE } from './local-listing.js';
export { LocalCompute, LOCAL_PAYLOAD_BYTES,
  LOCAL_RESPONSE_BYTES, LOCAL_RUNTIME_PATH, LOCAL_STORED_INPUTS_ABOVE_BYTES, MAX_TIMEOUT_MS, type LocalComputeSettings } from './local-compute.js';
export {
  DEFAULT_MEMORY_MB,
  DEFAULT_STORAGE_ROOT,
  parseLocalComputeOptions,
  parseLocalStorageOptions,
  type LocalComputeOptions,
  type LocalEnvironmentOption,
  type ResolvedLocalEnvironment,
  type LocalStorageOptions,
  type ResolvedLocalComputeOptions,
  type ResolvedLocalStorageOptions,
} from './local-options.js';
export { PASSED_PREFIXES, PASSED_VARIABLES, PASSED_WINDOWS_VARIABLES, TEMPORARY_VARIABLES } from './local-isolation.js';
