import type { InjectionToken } from 'tsyringe';
import type { ResolvedConfig } from '../config/load-config.js';
import type { Executor } from '../executor.js';
import type { LaneBackends } from '../lanes/lane.js';
import type { PluginRegistry } from '../plugins/plugin-registry.js';

/** Every dependency-injection token, in one place. Symbols, so two copies of core never collide. */
export const tokens = {
  config: Symbol('fanout.config') as InjectionToken<ResolvedConfig>,
  plugins: Symbol('fanout.plugins') as InjectionToken<PluginRegistry>,
  /** Every lane's compute and storage backends, in configuration order. */
  lanes: Symbol('fanout.lanes') as InjectionToken<LaneBackends[]>,
  executor: Symbol('fanout.executor') as InjectionToken<Executor>,
} as const;
