import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, FanoutError, type AdapterPluginV1 } from '@fanout/spec';
import type { z } from 'zod';
import { importTypeScriptFile } from '../bundle/import-typescript.js';
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
  const fromEnvironment = validate(readEnvironment(env), 'the FANOUT_* environment variables');
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

  let compute: BackendSelection = { backend: 'local', options: {}, configPath: 'compute.options' };
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
    if (layer.compute !== undefined) compute = selection(layer.compute, profilePath('compute.options', layer));
    if (layer.storage !== undefined) storage = selection(layer.storage, profilePath('storage.options', layer));
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
  try {
    if (extname(path) === '.json') return JSON.parse(await readFile(path, 'utf8')) as unknown;
    const module = ['.ts', '.mts'].includes(extname(path))
      ? await importTypeScriptFile(path)
      : ((await import(pathToFileURL(path).href)) as Record<string, unknown>);
    return module.default ?? module.config;
  } catch (error) {
    if (FanoutError.isInstance(error)) throw error;
    throw configError(`Could not read configuration file ${path}: ${(error as Error).message}`, error);
  }
}

function readEnvironment(env: Record<string, string | undefined>): FanoutConfig {
  const config: Record<string, unknown> = {};
  const defaults: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('FANOUT_') || value === undefined || value === '') continue;
    // Deployed runtimes are configured through FANOUT_RUNTIME_*; they are the adapters' to read.
    if (name.startsWith(RUNTIME_VARIABLE_PREFIX)) continue;
    if (!(name in ENVIRONMENT_VARIABLES)) {
      throw configError(
        `Unknown environment variable ${name}. fanout reads: ${Object.keys(ENVIRONMENT_VARIABLES).join(', ')}. Unset it or fix its spelling.`,
      );
    }
    const integer = (): number => {
      if (!/^\d+$/.test(value)) throw configError(`${name} must be a whole number; got ${JSON.stringify(value)}.`);
      return Number(value);
    };
    switch (name as keyof typeof ENVIRONMENT_VARIABLES) {
      case 'FANOUT_COMPUTE':
        config.compute = { backend: value };
        break;
      case 'FANOUT_STORAGE':
        config.storage = { backend: value };
        break;
      case 'FANOUT_LANES':
        config.lanes = value.split(',').map((name) => name.trim()).filter((name) => name !== '');
        break;
      case 'FANOUT_PREFIX':
        config.prefix = value;
        break;
      case 'FANOUT_CHUNK_SIZE':
        defaults.chunkSize = value === 'auto' ? 'auto' : integer();
        break;
      case 'FANOUT_CONCURRENCY':
        defaults.concurrency = integer();
        break;
      case 'FANOUT_TIMEOUT_MS':
        defaults.timeoutMs = integer();
        break;
      case 'FANOUT_MODE':
        defaults.mode = value;
        break;
      case 'FANOUT_DURABLE':
        if (value !== 'true' && value !== 'false') throw configError(`FANOUT_DURABLE must be true or false; got ${JSON.stringify(value)}.`);
        defaults.durable = value === 'true';
        break;
      default:
        break;
    }
  }
  // Options without a backend name apply to the configured backend; they need one to attach to.
  for (const [role, variable] of [
    ['compute', 'FANOUT_COMPUTE'],
    ['storage', 'FANOUT_STORAGE'],
  ] as const) {
    const optionsVariable = `${variable}_OPTIONS`;
    const raw = env[optionsVariable];
    if (raw === undefined || raw === '') continue;
    if (!env[variable]) throw configError(`${optionsVariable} is set but ${variable} is not: name the backend the options are for.`);
    config[role] = { backend: env[variable], options: jsonObjectVariable(optionsVariable, raw) };
  }
  if (Object.keys(defaults).length) config.defaults = defaults;
  return config as FanoutConfig;
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

function validate(raw: unknown, source: string): z.infer<typeof configSchema> {
  const parsed = configSchema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys : [];
    const where = keys.length
      ? keys.map((key) => [...issue.path, key].join('.')).join(', ')
      : issue.path.join('.') || '(top level)';
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
