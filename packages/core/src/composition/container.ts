// tsyringe reads decorator metadata through the Reflect API at import time; fanout registers
// everything with explicit factories and tokens, but the polyfill must still be present.
import 'reflect-metadata';
import { ErrorCode, FanoutError, type AdapterPluginV1, type ComputeBackendV1, type StorageBackendV1 } from '@fanout/spec';
import { container as rootContainer, type DependencyContainer, type InjectionToken } from 'tsyringe';
import type { BackendSelection, ResolvedConfig } from '../config/load-config.js';
import { Executor } from '../executor.js';
import type { LaneBackends } from '../lanes/lane.js';
import { PluginRegistry } from '../plugins/plugin-registry.js';
import { tokens } from './tokens.js';

/**
 * The composition root: the one place that wires fanout together. Each executor gets its own
 * child container, so two executors with different backends never share state, and nothing is
 * ever registered in tsyringe's global container. Every lane's storage and compute are created
 * here; lanes that name the same storage (backend and options) share one storage object.
 */
export async function composeExecutor(config: ResolvedConfig): Promise<Executor> {
  const scope = rootContainer.createChildContainer();
  register(scope, tokens.config, config);
  register(scope, tokens.plugins, new PluginRegistry(config.plugins, config.baseDirectory));
  const registry = scope.resolve(tokens.plugins);
  const context = { baseDirectory: config.baseDirectory };
  const storages = new Map<string, StorageBackendV1>();
  const lanes: LaneBackends[] = [];
  try {
    for (const lane of config.lanes) {
      const storageKey = selectionKey(lane.storage);
      let storage = storages.get(storageKey);
      if (!storage) {
        const plugin = await registry.get(lane.storage.backend, lane.storage.setting);
        storage = await create(plugin, 'createStorage', () => plugin.createStorage!(lane.storage.options, { ...context, configPath: lane.storage.configPath }));
        storages.set(storageKey, storage);
      }
      const laneStorage = storage;
      const computePlugin = await registry.get(lane.compute.backend, lane.compute.setting);
      const compute = await create(computePlugin, 'createCompute', () =>
        computePlugin.createCompute!(lane.compute.options, {
          ...context,
          configPath: lane.compute.configPath,
          storage: laneStorage,
          storageReference: laneStorage.reference,
        }),
      );
      lanes.push({ name: lane.name, compute, storage: laneStorage, storageKey, weight: lane.weight, concurrency: lane.concurrency, mode: lane.mode });
    }
  } catch (error) {
    // Whatever was created before the failure is released, so a bad lane never leaks a pool.
    for (const lane of lanes) await lane.compute.dispose?.();
    for (const storage of storages.values()) await storage.dispose?.();
    throw error;
  }
  register(scope, tokens.lanes, lanes);
  scope.register(tokens.executor, {
    useFactory: (dependencies) => new Executor({ config: dependencies.resolve(tokens.config), lanes: dependencies.resolve(tokens.lanes) }),
  });
  return scope.resolve(tokens.executor);
}

/** Two lanes with equal keys name the same store. Options hold no functions, so JSON identifies them. */
function selectionKey(selection: BackendSelection): string {
  return `${selection.backend}\u0000${JSON.stringify(selection.options)}`;
}

function register<T>(scope: DependencyContainer, token: InjectionToken<T>, value: T): void {
  if (scope.isRegistered(token, false)) {
    throw new Error(`${String(token)} is registered twice in one executor's container`);
  }
  scope.register(token, { useValue: value });
}

async function create<T extends StorageBackendV1 | ComputeBackendV1>(
  plugin: AdapterPluginV1,
  method: 'createStorage' | 'createCompute',
  make: () => T | Promise<T>,
): Promise<T> {
  const role = method === 'createStorage' ? 'storage' : 'compute';
  if (typeof plugin[method] !== 'function') {
    throw new FanoutError(`The adapter "${plugin.name}" provides no ${role} backend; choose another for "${role}".`, {
      code: ErrorCode.CONFIG_INVALID,
      fault: 'caller',
    });
  }
  const backend = await make();
  if (backend.specificationVersion !== 'v1') {
    throw new FanoutError(
      `The ${role} backend of "${plugin.name}" implements specification ${String(backend.specificationVersion)}; this fanout implements v1.`,
      { code: ErrorCode.SPECIFICATION_UNSUPPORTED, fault: 'caller' },
    );
  }
  return backend;
}
