import type { AdapterPluginV1, ComputeBackendV1, StorageBackendV1 } from '@fanout/spec';

/**
 * Makes the storage backend under test. Called once per group and once more while the suite is
 * being collected, to read the declared capabilities; every call must return a fresh instance
 * that shares no client state with the others. Instances may share the underlying store: each
 * group writes under its own random namespace and deletes what it wrote.
 */
export type StorageFactory = () => StorageBackendV1 | Promise<StorageBackendV1>;

/** A compute backend under test and the storage its workers read code and inputs from and write records to. */
export type ComputeUnderTest = {
  compute: ComputeBackendV1;
  /** The storage paired with `compute`: what the suite writes the task bundle to and reads records from. */
  storage: StorageBackendV1;
  /** Release anything else the factory made (a temporary folder, an emulator). Called after both backends are disposed. */
  dispose?: () => Promise<void>;
};

/**
 * Makes the compute backend under test with its paired storage. Same rules as
 * {@link StorageFactory}: a fresh instance per call, isolation by namespace.
 */
export type ComputeFactory = () => ComputeUnderTest | Promise<ComputeUnderTest>;

/** Plugin options as a user writes them in configuration, or a function that makes them per instance. */
export type OptionsSource = Record<string, unknown> | (() => Record<string, unknown> | Promise<Record<string, unknown>>);

/** An adapter plugin and the configuration to run it with, for the groups that drive whole jobs through core. */
export type AdapterSetup = {
  /** The plugin under test: the adapter package's default export. */
  plugin: AdapterPluginV1;
  /** `compute.options` as a user would write them. Default: `{}`. */
  computeOptions?: OptionsSource;
  /** `storage.options` as a user would write them. Default: `{}`. */
  storageOptions?: OptionsSource;
  /**
   * The plugin providing storage, when `plugin` provides compute only (for example a compute
   * adapter certified with the local folder storage). Default: `plugin` itself.
   */
  storagePlugin?: AdapterPluginV1;
  /** Directory relative paths in options are resolved against, as a config file's folder would be. Default: the working directory. */
  baseDirectory?: string;
};

/** Resolve an {@link OptionsSource} to the options object. */
export async function resolveOptions(source: OptionsSource | undefined): Promise<Record<string, unknown>> {
  if (source === undefined) return {};
  return typeof source === 'function' ? await source() : source;
}

/** A {@link StorageFactory} that builds the storage through the setup's plugin, as core would. */
export function storageFactoryFromAdapter(setup: AdapterSetup): StorageFactory {
  const plugin = setup.storagePlugin ?? setup.plugin;
  if (typeof plugin.createStorage !== 'function') {
    throw new TypeError(`The plugin "${plugin.name}" provides no storage; name one in AdapterSetup.storagePlugin.`);
  }
  return async () =>
    plugin.createStorage!(await resolveOptions(setup.storageOptions), {
      configPath: 'storage.options',
      baseDirectory: setup.baseDirectory ?? process.cwd(),
    });
}

/** A {@link ComputeFactory} that builds storage and compute through the setup's plugins, as core would. */
export function computeFactoryFromAdapter(setup: AdapterSetup): ComputeFactory {
  const { plugin } = setup;
  if (typeof plugin.createCompute !== 'function') {
    throw new TypeError(`The plugin "${plugin.name}" provides no compute backend.`);
  }
  const makeStorage = storageFactoryFromAdapter(setup);
  return async () => {
    const storage = await makeStorage();
    try {
      const compute = await plugin.createCompute!(await resolveOptions(setup.computeOptions), {
        configPath: 'compute.options',
        baseDirectory: setup.baseDirectory ?? process.cwd(),
        storage,
        storageReference: storage.reference,
      });
      return { compute, storage };
    } catch (error) {
      await storage.dispose?.();
      throw error;
    }
  };
}
