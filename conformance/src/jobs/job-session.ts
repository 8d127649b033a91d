import { connect, ErrorCode, FanoutError, type Executor, type Job } from '@fanout/core';
import type { AdapterPluginV1, ComputeBackendV1, ComputePluginContextV1, StorageBackendV1 } from '@fanout/spec';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ResolvedEnvironment } from '../environment.js';
import { resolveOptions, type AdapterSetup } from '../factories.js';
import { deleteUnderPrefix } from '../storage/storage-session.js';

/** Which plugins an executor of a job group uses instead of the setup's own (fault-injecting ones, say). */
export type PluginOverride = { compute?: AdapterPluginV1; storage?: AdapterPluginV1 };

/** Executors for one group, all on one random namespace (the configured `prefix`), disposed and cleaned after its last test. */
export type JobGroupSession = {
  readonly namespace: string;
  /**
   * Connect an executor as a user would, with the group's options; disposed after the group.
   * `besideLocal`: two lanes, `adapter` (the backend under test) and `local` (the local backend
   * with its folder storage at that root).
   */
  connect(override?: PluginOverride, besideLocal?: { root: string }): Promise<Executor>;
  /** The group's storage as a plain backend, to look at or damage what jobs stored; disposed after the group. */
  storage(): Promise<StorageBackendV1>;
};

/**
 * Give a group a namespace and a way to connect executors through core. Option functions of the
 * setup are resolved once per group: every executor of a group must see the same storage, or
 * re-attaching could not find the job.
 */
export function openJobGroup(setup: AdapterSetup, environment: ResolvedEnvironment): JobGroupSession {
  const namespace = environment.newNamespace();
  const executors: Executor[] = [];
  const storages: StorageBackendV1[] = [];
  let options: { compute: Record<string, unknown>; storage: Record<string, unknown> } | undefined;
  const storagePlugin = setup.storagePlugin ?? setup.plugin;
  const baseDirectory = setup.baseDirectory ?? process.cwd();

  beforeAll(async () => {
    options = { compute: await resolveOptions(setup.computeOptions), storage: await resolveOptions(setup.storageOptions) };
  }, environment.scaled(30_000));

  afterAll(async () => {
    for (const executor of executors.splice(0)) await executor.dispose().catch(() => undefined);
    for (const storage of storages.splice(0)) await storage.dispose?.().catch(() => undefined);
    if (!options || !storagePlugin.createStorage) return;
    // A plain instance, not a fault-injecting one, so that the cleanup itself does not fail.
    const storage = await storagePlugin.createStorage(options.storage, { configPath: 'storage.options', baseDirectory });
    try {
      await deleteUnderPrefix(storage, `${namespace}/`);
    } finally {
      await storage.dispose?.();
    }
  }, environment.scaled(120_000));

  return {
    namespace,
    async storage() {
      if (!options || !storagePlugin.createStorage) throw new Error('A job group opened its storage before its setup ran, or its plugin makes no storage.');
      const storage = await storagePlugin.createStorage(options.storage, { configPath: 'storage.options', baseDirectory });
      storages.push(storage);
      return storage;
    },
    async connect(override = {}, besideLocal) {
      if (!options) throw new Error('A job group connected before its setup ran.');
      const compute = override.compute ?? setup.plugin;
      const storage = override.storage ?? (setup.storagePlugin ? setup.storagePlugin : compute);
      const plugins = storage === compute ? [compute] : [compute, storage];
      const adapter = { compute: { backend: compute.name, options: options.compute }, storage: { backend: storage.name, options: options.storage } };
      const lanes = besideLocal && [
        { name: 'adapter', ...adapter },
        { name: 'local', compute: { backend: 'local', options: { workers: 2 } }, storage: { backend: 'local', options: { root: besideLocal.root } } },
      ];
      const executor = await connect(
        { plugins, ...adapter, ...(lanes ? { lanes } : {}), prefix: namespace },
        // No configuration file and no FANOUT_* variables: the run depends on the setup alone.
        { cwd: baseDirectory, configFile: false, env: {} },
      );
      executors.push(executor);
      return executor;
    },
  };
}

/** What came back from a job, delivery by delivery. */
export type CollectedResults<Output> = {
  /** The value of each task that succeeded, by index. */
  values: Map<number, Output>;
  /** The error of each task that failed, by index. */
  failures: Map<number, FanoutError>;
  /** Results delivered for an index that had one already. */
  duplicates: number;
  /** Whether the job was unfinished at the time bound, and was cancelled. */
  timedOut: boolean;
  wallMs: number;
};

/**
 * Read a job's results as they are delivered (async iteration), counting duplicates, for at most
 * `timeoutMs`; past it the job is cancelled, so its unfinished tasks fail `JOB_CANCELLED`.
 */
export async function collectResults<Output>(job: Job<Output>, timeoutMs: number): Promise<CollectedResults<Output>> {
  const started = Date.now();
  const collected: CollectedResults<Output> = { values: new Map(), failures: new Map(), duplicates: 0, timedOut: false, wallMs: 0 };
  const reading = (async () => {
    for await (const result of job) {
      if (collected.values.has(result.index) || collected.failures.has(result.index)) collected.duplicates += 1;
      if (result.ok) collected.values.set(result.index, result.value);
      else collected.failures.set(result.index, result.error);
    }
  })();
  try {
    await job.wait({ timeoutMs });
  } catch (error) {
    if (!FanoutError.isInstance(error, ErrorCode.WAIT_TIMEOUT)) throw error;
    collected.timedOut = true;
    await job.cancel();
  }
  await reading;
  collected.wallMs = Date.now() - started;
  return collected;
}

/** Assert that every task's correct result came back exactly once. */
export function expectEveryResultOnce<Output>(collected: CollectedResults<Output>, size: number, expected: (index: number) => Output): void {
  const missing: number[] = [];
  const wrong: number[] = [];
  for (let index = 0; index < size; index += 1) {
    if (!collected.values.has(index)) missing.push(index);
    else if (!isDeepEqual(collected.values.get(index), expected(index))) wrong.push(index);
  }
  const failureCodes = [...collected.failures.values()].map((error) => error.code);
  expect(
    { missing: missing.length, wrong: wrong.length, duplicates: collected.duplicates, timedOut: collected.timedOut },
    `missing ${JSON.stringify(missing.slice(0, 10))} (failure codes ${JSON.stringify([...new Set(failureCodes)])}), wrong ${JSON.stringify(wrong.slice(0, 10))}`,
  ).toEqual({ missing: 0, wrong: 0, duplicates: 0, timedOut: false });
}

function isDeepEqual(left: unknown, right: unknown): boolean {
  if (left instanceof Uint8Array && right instanceof Uint8Array) return Buffer.from(left).equals(Buffer.from(right));
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * The plugin with a smaller declared payload budget. Lowering a declared limit is always safe for
 * the backend (it accepts anything up to its real budget), and makes core send inputs as ranged
 * reads of the job object, a path a backend with a large budget would otherwise never take.
 */
export function withPayloadBudget(plugin: AdapterPluginV1, budgetBytes: number): AdapterPluginV1 {
  const createCompute = plugin.createCompute?.bind(plugin);
  const createStorage = plugin.createStorage?.bind(plugin);
  return {
    specificationVersion: 'v1',
    name: plugin.name,
    ...(createStorage && { createStorage }),
    ...(createCompute && {
      async createCompute(options: unknown, context: ComputePluginContextV1): Promise<ComputeBackendV1> {
        const inner = await createCompute(options, context);
        const declared = inner.capabilities.maxPayloadBytes ?? {};
        const lowered: ComputeBackendV1 = {
          specificationVersion: 'v1',
          name: inner.name,
          capabilities: {
            ...inner.capabilities,
            maxPayloadBytes: { sync: Math.min(budgetBytes, declared.sync ?? budgetBytes), async: Math.min(budgetBytes, declared.async ?? budgetBytes) },
          },
          invoke: (payload, invokeOptions) => inner.invoke(payload, invokeOptions),
          ...(inner.payloadSize && { payloadSize: inner.payloadSize.bind(inner) }),
          dispose: () => inner.dispose?.() ?? Promise.resolve(),
        };
        return lowered;
      },
    }),
  };
}
