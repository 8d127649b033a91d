import type { DeployerV1 } from '@fanout/spec';
import type { FanoutConfig } from './config/config-schema.js';
import { loadConfig, type LoadConfigOptions } from './config/load-config.js';
import { PluginRegistry } from './plugins/plugin-registry.js';

/** The configured compute backend's deployer, if it has anything to deploy. */
export type OpenedDeployer = {
  /** The compute backend's name as configured, such as `aws`. */
  backend: string;
  /** `undefined` when the backend needs nothing deployed (the local one). */
  deployer: DeployerV1 | undefined;
};

/**
 * The deployer of the configured compute backend, built from the same configuration jobs use
 * but without connecting to anything: before the first deployment there is nothing to connect
 * to. The storage options go along when the same adapter provides storage, since its bucket is
 * part of the deployment. Release it with `deployer.dispose?.()`.
 */
export async function openDeployer(config: FanoutConfig = {}, options: LoadConfigOptions = {}): Promise<OpenedDeployer> {
  const resolved = await loadConfig(config, options);
  const backend = resolved.compute.backend;
  const plugin = await new PluginRegistry(resolved.plugins, resolved.baseDirectory).get(backend, resolved.compute.setting);
  if (typeof plugin.createDeployer !== 'function') return { backend, deployer: undefined };
  const deployer = await plugin.createDeployer(
    { compute: resolved.compute.options, storage: resolved.storage.backend === backend ? resolved.storage.options : undefined },
    {
      baseDirectory: resolved.baseDirectory,
      prefix: resolved.prefix,
      computeConfigPath: resolved.compute.configPath,
      storageConfigPath: resolved.storage.configPath,
    },
  );
  return { backend, deployer };
}
