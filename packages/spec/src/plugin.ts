import type { ComputeBackendV1 } from './compute.js';
import type { DeployerContextV1, DeployerV1 } from './deployment.js';
import type { StorageBackendV1 } from './storage.js';

/**
 * How to make the same storage backend again in another process, for compute backends whose
 * workers run where they can reach the client's storage directly (local child processes, a test
 * server). Cloud runtimes get their storage from their deployment instead.
 *
 * The other process is plain Node running built JavaScript (no TypeScript loader). It imports
 * `module`, takes its default export as the plugin, and calls
 * `createStorage(options, { configPath: 'storage.options', baseDirectory })` with the client's
 * base directory. So:
 * - `module` must be importable from anywhere: a `file:` URL of the built entry point is the
 *   robust choice; a bare package name works only where that package resolves;
 * - `options` are the options after validation, and the plugin's option parser must accept
 *   its own output (for example an absolute path where the user wrote a relative one).
 */
export type StorageReferenceV1 = {
  /** Module specifier (a package name or a `file:` URL) whose default export is the storage's plugin. */
  module: string;
  /** The validated options the storage was created with. May hold secrets: never put it in a payload or an object. */
  options: unknown;
};

/** What a plugin is handed when core asks it for a backend. */
export type PluginContextV1 = {
  /**
   * Where the options came from, for error messages: for example `compute.options` or
   * `profiles.ci.storage.options`. A plugin that refuses an option throws `CONFIG_INVALID`
   * naming `${configPath}.${key}`.
   */
  configPath: string;
  /** Directory relative paths in options are resolved against (the config file's, or the working directory). */
  baseDirectory: string;
};

/** Extra context for {@link AdapterPluginV1.createCompute}. */
export type ComputePluginContextV1 = PluginContextV1 & {
  /** The storage this compute backend's workers will use. */
  storage: StorageBackendV1;
  /** How to recreate that storage in another process, when its plugin can say. */
  storageReference: StorageReferenceV1 | undefined;
};

/**
 * Version 1 of the adapter plugin contract: the one object an adapter package exports (as its
 * default export) so that core can build its backends from configuration.
 *
 * A plugin provides compute, storage or both. Options arrive unvalidated from configuration:
 * the plugin validates them and throws `CONFIG_INVALID` naming the offending key.
 */
export interface AdapterPluginV1 {
  readonly specificationVersion: 'v1';
  /** The name users write in configuration, such as `local` or `aws`. Lowercase, no spaces. */
  readonly name: string;
  /** Module specifier this plugin can be imported by from another process, if any. */
  readonly module?: string;
  /** Build a storage backend. */
  createStorage?(options: unknown, context: PluginContextV1): StorageBackendV1 | Promise<StorageBackendV1>;
  /** Build a compute backend. */
  createCompute?(options: unknown, context: ComputePluginContextV1): ComputeBackendV1 | Promise<ComputeBackendV1>;
  /**
   * Build the deployer for this adapter's runtime, from the same compute and storage options a
   * job uses (`storage` is `undefined` when another adapter provides the storage). Optional:
   * only adapters with something to deploy have one.
   */
  createDeployer?(
    options: { compute: unknown; storage: unknown },
    context: DeployerContextV1,
  ): DeployerV1 | Promise<DeployerV1>;
}
