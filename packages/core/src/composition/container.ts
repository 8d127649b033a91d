// tsyringe reads decorator metadata through the Reflect API at import time; fanout registers
// everything with explicit factories and tokens, but the polyfill must still be present.
import 'reflect-metadata';
import { ErrorCode, FanoutError, type AdapterPluginV1, type ComputeBackendV1, type StorageBackendV1 } from '@fanout/spec';
import { container as rootContainer, type DependencyContainer, type InjectionToken } from 'tsyringe';
import type { ResolvedConfig } from '../config/load-config.js';
import { Executor } from '../executor.js';
import { PluginRegistry } from '../plugins/plugin-registry.js';
import { tokens } from './tokens.js';

/**
 * The composition root: the one place that wires fanout together. Each executor gets its own
 * child container, so two executors with different backends never share state, and nothing is
 * ever registered in tsyringe's global container.
 */
export async function composeExecutor(config: ResolvedConfig): Promise<Executor> {
  const scope = rootContainer.createChildContainer();
  register(scope, tokens.config, config);
  register(scope, tokens.plugins, new PluginRegistry(config.plugins, config.baseDirectory));

  const registry = scope.resolve(tokens.plugins);
  const context = { baseDirectory: config.baseDirectory };
  const storagePlugin = await registry.get(config.storage.backend, 'storage');
  const storage = await create(storagePlugin, 'createStorage', () =>
    storagePlugin.createStorage!(config.storage.options, { ...context, configPath: config.storage.configPath }),
  );
  const reference = storage.reference;
  register(scope, tokens.storage, storage);
  register(scope, tokens.storageReference, reference);

  const computePlugin = await registry.get(config.compute.backend, 'compute');
  const compute = await create(computePlugin, 'createCompute', () =>
    computePlugin.createCompute!(config.compute.options, {
      ...context,
      configPath: config.compute.configPath,
      storage,
      storageReference: reference,
    }),
  ).catch(async (error: unknown) => {
    await storage.dispose?.();
    throw error;
  });
  register(scope, tokens.compute, compute);

  scope.register(tokens.executor, {
    useFactory: (dependencies) =>
      new Executor({
        config: dependencies.resolve(tokens.config),
        storage: dependencies.resolve(tokens.storage),
        compute: dependencies.resolve(tokens.compute),
      }),
  });
  return scope.resolve(tokens.executor);
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
