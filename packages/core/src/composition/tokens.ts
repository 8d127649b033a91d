import type { ComputeBackendV1, StorageBackendV1, StorageReferenceV1 } from '@fanout/spec';
import type { InjectionToken } from 'tsyringe';
import type { ResolvedConfig } from '../config/load-config.js';
import type { Executor } from '../executor.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';

/** Every dependency-injection token, in one place. Symbols, so two copies of core never collide. */
export const tokens = {
  config: Symbol('fanout.config') as InjectionToken<ResolvedConfig>,
  plugins: Symbol('fanout.plugins') as InjectionToken<PluginRegistry>,
  storage: Symbol('fanout.storage') as InjectionToken<StorageBackendV1>,
  storageReference: Symbol('fanout.storageReference') as InjectionToken<StorageReferenceV1 | undefined>,
  compute: Symbol('fanout.compute') as InjectionToken<ComputeBackendV1>,
  executor: Symbol('fanout.executor') as InjectionToken<Executor>,
} as const;
