import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, FanoutError, type AdapterPluginV1 } from '@fanout/spec';

/** Adapters shipped by the fanout project, loaded on first use so that unused SDKs cost nothing. */
export const BUILT_IN_ADAPTERS: Readonly<Record<string, string>> = {
  local: '@fanout/adapter-local',
  aws: '@fanout/adapter-aws',
  gcp: '@fanout/adapter-gcp',
  azure: '@fanout/adapter-azure',
};

/**
 * Finds the adapter plugin for a backend name: a plugin passed in configuration, a built-in
 * adapter, or a package name or path whose default export is a plugin.
 */
export class PluginRegistry {
  private readonly plugins = new Map<string, AdapterPluginV1>();

  constructor(
    extra: readonly AdapterPluginV1[],
    private readonly baseDirectory: string,
  ) {
    for (const plugin of extra) {
      assertPlugin(plugin, `the plugin "${plugin.name}" in "plugins"`);
      if (this.plugins.has(plugin.name)) {
        throw new FanoutError(`Two plugins in "plugins" are named "${plugin.name}"; names must be unique.`, {
          code: ErrorCode.CONFIG_INVALID,
          fault: 'caller',
        });
      }
      this.plugins.set(plugin.name, plugin);
    }
  }

  async get(name: string, configKey: string): Promise<AdapterPluginV1> {
    const known = this.plugins.get(name);
    if (known) return known;
    const specifier = BUILT_IN_ADAPTERS[name] ?? name;
    let module: { default?: unknown };
    try {
      module = (await import(this.locate(specifier))) as { default?: unknown };
    } catch (error) {
      const builtIn = Object.keys(BUILT_IN_ADAPTERS).join(', ');
      const registered = [...this.plugins.keys()].join(', ') || 'none';
      throw new FanoutError(
        `${configKey} names the backend "${name}", which could not be loaded from ${specifier} (${(error as Error).message}). Built-in adapters: ${builtIn}; registered in "plugins": ${registered}. Install the adapter package in your project (for example \`npm install ${specifier}\`), fix the path, or pass the plugin object in "plugins".`,
        { code: ErrorCode.ADAPTER_NOT_FOUND, fault: 'caller', cause: error },
      );
    }
    const plugin = module.default as AdapterPluginV1;
    assertPlugin(plugin, specifier);
    this.plugins.set(name, plugin);
    return plugin;
  }

  /**
   * A path resolves against the configuration's directory; a package name resolves from the
   * user's project first (where third-party adapters are installed), then from core itself
   * (where the adapters that ship with fanout are).
   */
  private locate(specifier: string): string {
    if (specifier.startsWith('.') || isAbsolute(specifier)) return pathToFileURL(resolve(this.baseDirectory, specifier)).href;
    try {
      return pathToFileURL(createRequire(join(this.baseDirectory, 'package.json')).resolve(specifier)).href;
    } catch {
      return specifier;
    }
  }
}

function assertPlugin(plugin: AdapterPluginV1 | undefined, where: string): void {
  if (typeof plugin !== 'object' || plugin === null || typeof plugin.name !== 'string') {
    throw new FanoutError(`${where} does not default-export an adapter plugin object.`, {
      code: ErrorCode.ADAPTER_NOT_FOUND,
      fault: 'caller',
    });
  }
  if (plugin.specificationVersion !== 'v1') {
    throw new FanoutError(
      `${where} implements specification ${String(plugin.specificationVersion)}; this fanout implements v1. Upgrade fanout or use a matching adapter version.`,
      { code: ErrorCode.SPECIFICATION_UNSUPPORTED, fault: 'caller' },
    );
  }
}
