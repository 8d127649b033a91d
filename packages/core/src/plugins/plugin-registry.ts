import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ErrorCode, FanoutError, type AdapterPluginV1 } from '@fanout/spec';
import { closestName } from './closest-name.js';

/**
 * Adapters of the fanout project, by backend name, loaded on first use so that unused SDKs cost
 * nothing. Each is a package of its own, installed beside core (the local one comes with it).
 */
export const BUILT_IN_ADAPTERS: Readonly<Record<string, string>> = {
  local: '@fanout/adapter-local',
  aws: '@fanout/adapter-aws',
  gcp: '@fanout/adapter-gcp',
};

/**
 * Finds the adapter plugin for a backend name: a plugin passed in configuration, a built-in
 * adapter, or a package name or path whose default export is a plugin.
 */
export class PluginRegistry {
  private readonly plugins = new Map<string, AdapterPluginV1>();
  /** Names of the plugins passed in "plugins", as opposed to those loaded by name since. */
  private readonly configured: readonly string[];

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
    this.configured = [...this.plugins.keys()];
  }

  /** The plugin a backend name stands for; `setting` is where the name was configured (`compute`, `lanes.1.storage`), for errors. */
  async get(name: string, setting: string): Promise<AdapterPluginV1> {
    const known = this.plugins.get(name);
    if (known) return known;
    const specifier = BUILT_IN_ADAPTERS[name] ?? name;
    const location = this.locate(specifier);
    if (location === undefined && isPath(specifier)) {
      throw adapterNotFound(`${setting} names the backend "${name}", a path, and the file ${resolve(this.baseDirectory, specifier)} does not exist. Fix the path (it is relative to ${this.baseDirectory}).`);
    }
    let module: { default?: unknown };
    try {
      // Not in the project: core's own import finds the adapters installed with it.
      module = (await import(location ?? specifier)) as { default?: unknown };
    } catch (error) {
      // Not found at all, as opposed to found and failing to load (a dependency of its own missing, say).
      const missing = location === undefined && (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && (error as Error).message.includes(`'${specifier}'`);
      if (missing) throw this.unknownBackend(name, setting, error);
      throw adapterNotFound(`${setting} names the backend "${name}", which could not be loaded from ${location ?? specifier}: ${(error as Error).message}`, error);
    }
    const plugin = module.default as AdapterPluginV1;
    assertPlugin(plugin, specifier);
    this.plugins.set(name, plugin);
    return plugin;
  }

  /**
   * A backend name that is no adapter to be found. Only fanout's own adapter names are ever put
   * in an install command: a typed name is never suggested as a package, where anyone may have
   * published one.
   */
  private unknownBackend(name: string, setting: string, cause: unknown): FanoutError {
    const ownPackage = BUILT_IN_ADAPTERS[name];
    if (ownPackage) {
      return adapterNotFound(`${setting} names the backend "${name}", fanout's adapter ${ownPackage}, which is not installed in ${this.baseDirectory}. Install it there: npm install ${ownPackage}`, cause);
    }
    const suggestion = closestName(name, [...Object.keys(BUILT_IN_ADAPTERS), ...this.configured]);
    const suggestedPackage = suggestion === undefined ? undefined : BUILT_IN_ADAPTERS[suggestion];
    const installCommand = suggestedPackage && !this.isInstalled(suggestedPackage) ? ` (npm install ${suggestedPackage})` : '';
    const available = [
      ...Object.entries(BUILT_IN_ADAPTERS)
        .filter(([, packageName]) => this.isInstalled(packageName))
        .map(([builtIn]) => `${builtIn} (fanout's own)`),
      ...this.configured.map((plugin) => `${plugin} (in "plugins")`),
    ];
    return adapterNotFound(
      `${setting} names the backend "${name}", which is no adapter fanout knows or finds installed.${suggestion ? ` Did you mean "${suggestion}"?${installCommand}` : ''} Available: ${available.join(', ') || 'none'}. A third-party adapter is named by its package, once installed in your project (npm install <package>), or by the path of its file; or pass its plugin object in "plugins".`,
      cause,
    );
  }

  /**
   * Where a specifier is in the user's project, or `undefined`. A path resolves against the
   * configuration's directory, a package name from the project (where third-party adapters are
   * installed); a package that is not there may still be installed with core.
   */
  private locate(specifier: string): string | undefined {
    if (isPath(specifier)) {
      const file = resolve(this.baseDirectory, specifier);
      return existsSync(file) ? pathToFileURL(file).href : undefined;
    }
    return resolvesFrom(join(this.baseDirectory, 'package.json'), specifier);
  }

  /** Whether a package can be loaded: from the project, or from core (where the adapters that ship with fanout are). */
  private isInstalled(packageName: string): boolean {
    return this.locate(packageName) !== undefined || resolvesFrom(fileURLToPath(import.meta.url), packageName) !== undefined;
  }
}

/** The file URL `specifier` resolves to from the file `from`, or `undefined` when it is not installed there. */
function resolvesFrom(from: string, specifier: string): string | undefined {
  try {
    return pathToFileURL(createRequire(from).resolve(specifier)).href;
  } catch {
    return undefined;
  }
}

function isPath(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier);
}

function adapterNotFound(message: string, cause?: unknown): FanoutError {
  return new FanoutError(message, { code: ErrorCode.ADAPTER_NOT_FOUND, fault: 'caller', cause });
}

function assertPlugin(plugin: AdapterPluginV1 | undefined, where: string): void {
  if (typeof plugin !== 'object' || plugin === null || typeof plugin.name !== 'string') {
    throw adapterNotFound(`${where} does not default-export an adapter plugin object.`);
  }
  if (plugin.specificationVersion !== 'v1') {
    throw new FanoutError(
      `${where} implements specification ${String(plugin.specificationVersion)}; this fanout implements v1. Upgrade fanout or use a matching adapter version.`,
      { code: ErrorCode.SPECIFICATION_UNSUPPORTED, fault: 'caller' },
    );
  }
}
