import { composeExecutor } from './composition/container.js';
import type { FanoutConfig } from './config/config-schema.js';
import { loadConfig, type LoadConfigOptions } from './config/load-config.js';
import type { Executor } from './executor.js';

/**
 * Connect to the configured backends and return an executor. With no configuration at all, it
 * runs on the local machine's cores and keeps data in `.fanout/storage` under the working
 * directory.
 *
 * @throws FanoutError `CONFIG_INVALID` naming the offending key, `ADAPTER_NOT_FOUND`.
 */
export async function connect(config: FanoutConfig = {}, options: LoadConfigOptions = {}): Promise<Executor> {
  return composeExecutor(await loadConfig(config, options));
}
