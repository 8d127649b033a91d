import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, FanoutError, type AdapterPluginV1 } from '@fanout/spec';
import type { z } from 'zod';
import { importTypeScriptFile } from '../bundle/import-typescript.js';
import { describeJsonSyntaxError } from './json-error-position.js';
import { configSchema, type FanoutConfig, type LaneChoice, type RetryPolicy } from './config-schema.js';
import { resolveLanes, selection, storageFollowing, type BackendSelection, type ResolvedLane } from './resolve-lanes.js';

export type { BackendSelection, ResolvedLane } from './resolve-lanes.js';

/** File names looked for in the working directory, in this order. */
export const CONFIG_FILE_NAMES = [
  'fanout.config.ts',
  'fanout.config.mts',
  'fanout.config.js',
  'fanout.config.mjs',
  'fanout.config.json',
] as const;

/** Variables of deployed runtimes (set by `fanout deploy`), which the client leaves alone. */
export const RUNTIME_VARIABLE_PREFIX = 'FANOUT_RUNTIME_';

/**
 * Every `FANOUT_*` variable the client reads; any other is refused, so a typo never goes
 * unnoticed. `FANOUT_RUNTIME_*` variables belong to deployed runtimes and are ignored.
 */
export const ENVIRONMENT_VARIABLES = {
  FANOUT_CONFIG: 'path of the configuration file (default: fanout.config.* in the working directory)',
  FANOUT_PROFILE: 'name of the profile to use',
  FANOUT_COMPUTE: 'compute backend name, such as local or aws',
  FANOUT_COMPUTE_OPTIONS: 'compute backend options as a JSON object',
  FANOUT_STORAGE: 'storage backend name',
  FANOUT_STORAGE_OPTIONS: 'storage backend options as a JSON object',
  FANOUT_LANES: 'comma-separated lanes (profile or backend names) to run jobs over',
  FANOUT_PREFIX: 'storage key prefix for everything fanout writes',
  FANOUT_CHUNK_SIZE: 'tasks per invocation, or auto',
  FANOUT_CONCURRENCY: 'most invocations in flight',
  FANOUT_TIMEOUT_MS: 'deadline of each invocation in milliseconds',
  FANOUT_MODE: 'invocation mode: auto, sync or async',
  FANOUT_DURABLE: 'true or false: whether every result record is written to storage (sync mode)',
} as const;


/** Configuration after layering code, environment, profile and file, with every default applied. */
export type ResolvedConfig = {
  /** The first lane's compute backend (the only one, unless `lanes` names several). */
  compute: BackendSelection;
  /** The first lane's storage backend. */
  storage: BackendSelection;
  /** Every lane jobs may run over; one lane of `compute` and `storage` unless `lanes` was set. */
  lanes: ResolvedLane[];
  prefix: string;
  defaults: {
    chunkSize: number | 'auto';
    concurrency: number | undefined;
    timeoutMs: number;
    mode: 'auto' | 'sync' | 'async';
    retries: Required<RetryPolicy>;
    backups: boolean;
    durable: boolean;
  };
  plugins: AdapterPluginV1[];
  /** Directory relative paths in options resolve against: the config file's, or the working directory. */
  baseDirectory: string;
  /** The configuration file read, if any. */
  configFile: string | undefined;
  profile: string | undefined;
};

export type LoadConfigOptions = {
  /** Working directory. Default: `process.cwd()`. */
  cwd?: string;
  /** Environment to read `FANOUT_*` from. Default: `process.env`. */
  env?: Record<string, string | undefined>;
  /** A configuration file to read, or `false` for none. Default: `FANOUT_CONFIG`, then `fanout.config.*`. */
  configFile?: string | false;
};

export const DEFAULT_PREFIX = 'fanout';
export const DEFAULT_TIMEOUT_MS = 5 * 60 * 1000;
export const DEFAULT_RETRIES: Required<RetryPolicy> = { transient: 3, timeout: 1, crash: 2, lost: 10, outOfMemory: 0, userCode: 0 };

/**
 * Resolve the configuration: code (highest), then `FANOUT_*` variables, then the chosen profile,
 * then the file's top level, then defaults. With nothing at all, compute and storage are local.
 */
export async function loadConfig(fromCode: FanoutConfig = {}, options: LoadConfigOptions = {}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = options.configFile === false ? undefined : findConfigFile(cwd, env, options.configFile);
  const fromFile = file ? validate(await readConfigFile(file), file) : {};
  const fromEnvironment = validate(readEnvironment(env), 'the FANOUT_* environment variables', variableOfSetting);
  const code = validate(fromCode, 'the configuration passed to connect()');

  const profile = code.profile ?? env.FANOUT_PROFILE ?? fromFile.profile;
  const profiles = { ...fromFile.profiles, ...code.profiles };
  if (profile !== undefined && !(profile in profiles)) {
    const known = Object.keys(profiles);
    throw configError(
      `Profile "${profile}" is not defined. ${known.length ? `Defined profiles: ${known.join(', ')}.` : 'No profiles are defined.'} Add it under "profiles" in ${file ?? 'your configuration'}, or unset FANOUT_PROFILE.`,
    );
  }
  const layers = [fromFile, profile ? profiles[profile] : undefined, fromEnvironment, code].filter(
    (layer): layer is z.infer<typeof configSchema> => layer !== undefined,
  );
  const profilePath = (key: string, layer: object): string =>
    layer === profiles[profile ?? ''] ? `profiles.${profile}.${key}` : key;
  // Where a backend was named, for errors about it; the variable too when the environment named it.
  const settingOf = (key: 'compute' | 'storage', layer: object): string =>
    layer === fromEnvironment ? `${key} (${variableOfSetting(key)})` : profilePath(key, layer);

  let compute: BackendSelection = { backend: 'local', options: {}, configPath: 'compute.options', setting: 'compute' };
  let storage: BackendSelection | undefined;
  let lanes: { choices: LaneChoice[]; configPath: string } | undefined;
  let prefix = DEFAULT_PREFIX;
  let defaults: ResolvedConfig['defaults'] = {
    chunkSize: 'auto',
    concurrency: undefined,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    mode: 'auto',
    retries: { ...DEFAULT_RETRIES },
    backups: true,
    durable: true,
  };
  for (const layer of layers) {
    if (layer.compute !== undefined) compute = selection(layer.compute, settingOf('compute', layer), profilePath('compute.options', layer));
    if (layer.storage !== undefined) storage = selection(layer.storage, settingOf('storage', layer), profilePath('storage.options', layer));
    // A backend chosen above the lanes (--backend, FANOUT_COMPUTE over a file's lanes) is one lane.
    if (layer.compute !== undefined || layer.storage !== undefined) lanes = undefined;
    if (layer.lanes !== undefined) lanes = { choices: layer.lanes, configPath: profilePath('lanes', layer) };
    if (layer.prefix !== undefined) prefix = layer.prefix;
    if (layer.defaults) {
      const { retries, ...rest } = layer.defaults;
      defaults = { ...defaults, ...definedOnly(rest), retries: { ...defaults.retries, ...definedOnly(retries ?? {}) } };
    }
  }
  const single: ResolvedLane = {
    name: compute.backend,
    compute,
    storage: storage ?? storageFollowing(compute, 'storage.options'),
    weight: 1,
    concurrency: undefined,
    mode: undefined,
  };
  const resolvedLanes = lanes ? resolveLanes(lanes.choices, profiles, lanes.configPath) : [single];
  return {
    compute: resolvedLanes[0]!.compute,
    storage: resolvedLanes[0]!.storage,
    lanes: resolvedLanes,
    prefix: prefix.replace(/\/+$/, ''),
    defaults,
    plugins: [...(fromFile.plugins ?? []), ...(code.plugins ?? [])],
    baseDirectory: file ? dirname(file) : cwd,
    configFile: file,
    profile,
  };
}

function findConfigFile(cwd: string, env: Record<string, string | undefined>, explicit: string | undefined): string | undefined {
  const named = explicit ?? env.FANOUT_CONFIG;
  if (named !== undefined) {
    const path = resolve(cwd, named);
    if (!existsSync(path)) {
      throw configError(`Configuration file ${path} does not exist${explicit ? '' : ' (named by FANOUT_CONFIG)'}.`);
    }
    return path;
  }
  return CONFIG_FILE_NAMES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
}

async function readConfigFile(path: string): Promise<unknown> {
  if (extname(path) === '.json') return readJsonConfigFile(path);
  try {
    const module = ['.ts', '.mts'].includes(extname(path))
      ? await importTypeScriptFile(path)
      : ((await import(pathToFileURL(path).href)) as Record<string, unknown>);
    return module.default ?? module.config;
  } catch (error) {
    if (FanoutError.isInstance(error)) throw error;
    throw unreadableConfigFile(path, error);
  }
}

function unreadableConfigFile(path: string, error: unknown): FanoutError {
  return configError(`Could not read configuration file ${path}: ${(error as Error).message}`, error);
}

/** A JSON file is parsed here, not imported, so that a syntax error can be named by line and column. */
async function readJsonConfigFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadableConfigFile(path, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw configError(`Configuration file ${path} is not valid JSON: ${describeJsonSyntaxError(text, error)}.`, error);
  }
}

/** How a variable that sets one setting is read: the setting's path, and its value from the variable's text. */
type VariableSetting = { setting: string; read: (value: string, name: string) => unknown };

const backendNamed = (value: string) => ({ backend: value });
const asIs = (value: string) => value;

function wholeNumber(value: string, name: string): number {
  if (!/^\d+$/.test(value)) throw configError(`${name} must be a whole number; got ${JSON.stringify(value)}.`);
  return Number(value);
}

/** The variables that set one setting each; `FANOUT_CONFIG`, `FANOUT_PROFILE` and the `_OPTIONS` ones are read apart. */
const VARIABLE_SETTINGS = {
  FANOUT_COMPUTE: { setting: 'compute', read: backendNamed },
  FANOUT_STORAGE: { setting: 'storage', read: backendNamed },
  FANOUT_LANES: { setting: 'lanes', read: (value) => value.split(',').map((name) => name.trim()).filter((name) => name !== '') },
  FANOUT_PREFIX: { setting: 'prefix', read: asIs },
  FANOUT_CHUNK_SIZE: { setting: 'defaults.chunkSize', read: (value, name) => (value === 'auto' ? 'auto' : wholeNumber(value, name)) },
  FANOUT_CONCURRENCY: { setting: 'defaults.concurrency', read: wholeNumber },
  FANOUT_TIMEOUT_MS: { setting: 'defaults.timeoutMs', read: wholeNumber },
  FANOUT_MODE: { setting: 'defaults.mode', read: asIs },
  FANOUT_DURABLE: {
    setting: 'defaults.durable',
    read: (value, name) => {
      if (value !== 'true' && value !== 'false') throw configError(`${name} must be true or false; got ${JSON.stringify(value)}.`);
      return value === 'true';
    },
  },
} satisfies Partial<Record<keyof typeof ENVIRONMENT_VARIABLES, VariableSetting>>;

/** Options without a backend name apply to the backend its variable names; they need one to attach to. */
const OPTIONS_VARIABLES = [
  { role: 'compute', variable: 'FANOUT_COMPUTE', optionsVariable: 'FANOUT_COMPUTE_OPTIONS' },
  { role: 'storage', variable: 'FANOUT_STORAGE', optionsVariable: 'FANOUT_STORAGE_OPTIONS' },
] as const;

/**
 * The variable a setting at `path` came from when the environment set it (`defaults.timeoutMs`:
 * `FANOUT_TIMEOUT_MS`; `compute.options.workers`: `FANOUT_COMPUTE_OPTIONS`), so that a refused value
 * names what the user typed.
 */
function variableOfSetting(path: string): string | undefined {
  const settings: Array<[string, string]> = [
    ...Object.entries(VARIABLE_SETTINGS).map(([name, { setting }]): [string, string] => [setting, name]),
    ...OPTIONS_VARIABLES.map(({ role, optionsVariable }): [string, string] => [`${role}.options`, optionsVariable]),
  ];
  const covering = settings.filter(([setting]) => path === setting || path.startsWith(`${setting}.`));
  return covering.sort(([a], [b]) => b.length - a.length)[0]?.[1];
}

function readEnvironment(env: Record<string, string | undefined>): FanoutConfig {
  const config: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('FANOUT_') || value === undefined || value === '') continue;
    // Deployed runtimes are configured through FANOUT_RUNTIME_*; they are the adapters' to read.
    if (name.startsWith(RUNTIME_VARIABLE_PREFIX)) continue;
    if (!(name in ENVIRONMENT_VARIABLES)) {
      throw configError(
        `Unknown environment variable ${name}. fanout reads: ${Object.keys(ENVIRONMENT_VARIABLES).join(', ')}. Unset it or fix its spelling.`,
      );
    }
    const variable = (VARIABLE_SETTINGS as Partial<Record<string, VariableSetting>>)[name];
    if (variable) setAt(config, variable.setting, variable.read(value, name));
  }
  for (const { role, variable, optionsVariable } of OPTIONS_VARIABLES) {
    const raw = env[optionsVariable];
    if (raw === undefined || raw === '') continue;
    if (!env[variable]) throw configError(`${optionsVariable} is set but ${variable} is not: name the backend the options are for.`);
    config[role] = { backend: env[variable], options: jsonObjectVariable(optionsVariable, raw) };
  }
  return config as FanoutConfig;
}

/** Set the value at a dotted path (`defaults.timeoutMs`), making the objects on the way. */
function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let object = target;
  for (const key of keys.slice(0, -1)) object = (object[key] ??= {}) as Record<string, unknown>;
  object[keys.at(-1)!] = value;
}

function jsonObjectVariable(name: string, value: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // Reported below with the variable's name.
  }
  throw configError(`${name} must be a JSON object, such as {"workers": 4}; got ${JSON.stringify(value)}.`);
}

/** Validate one layer of configuration; `variableOf` names the variable behind a setting, for the environment's layer. */
function validate(raw: unknown, source: string, variableOf?: (path: string) => string | undefined): z.infer<typeof configSchema> {
  const parsed = configSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const named = (path: string): string => {
    const variable = variableOf?.(path);
    return variable ? `${path} (${variable})` : path;
  };
  const problems = parsed.error.issues.map((issue) => {
    const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys : [];
    const where = keys.length
      ? keys.map((key) => named([...issue.path, key].join('.'))).join(', ')
      : named(issue.path.join('.')) || '(top level)';
    const what = issue.code === 'unrecognized_keys' ? 'is not a known setting' : issue.message;
    return `${where}: ${what}`;
  });
  throw configError(
    `Invalid configuration in ${source}:\n  ${problems.join('\n  ')}\nSee docs/configuration.md for every setting.`,
  );
}

function configError(message: string, cause?: unknown): FanoutError {
  return new FanoutError(message, { code: ErrorCode.CONFIG_INVALID, fault: 'caller', cause });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
