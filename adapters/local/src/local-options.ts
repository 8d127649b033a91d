import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { describeValue, isIntegerBetween, optionError, optionsRecord } from '@fanout/adapter-kit';
import type { PluginContextV1 } from '@fanout/spec';
import { PASSED_PREFIXES, PASSED_VARIABLES, TEMPORARY_VARIABLES } from './local-isolation.js';

/** Options for the local folder storage, as written under `storage.options` in configuration. */
export type LocalStorageOptions = {
  /**
   * The folder objects are kept in. A relative path is resolved against the configuration's base
   * directory (the config file's folder, or the working directory). Created on first write.
   * Default: `.fanout/storage`.
   */
  root?: string;
};

/** Options for the local process pool, as written under `compute.options` in configuration. */
export type LocalComputeOptions = {
  /**
   * How many child processes run invocations at once; also the pool's declared default and
   * maximum concurrency. Children start on demand and stay warm until `dispose()`.
   * Default: `os.availableParallelism()`.
   */
  workers?: number;
  /**
   * Heap limit of each child process in MiB (`--max-old-space-size`). A task that needs more fails
   * with `OUT_OF_MEMORY`. Default: 2048.
   */
  memoryMb?: number;
  /**
   * Environment variables of each child process beyond its fixed ones (see `README.md`,
   * "Isolation": `PATH`, `HOME`, the locale and `TZ` from this process, and `TMPDIR`, `TMP`, `TEMP`
   * set to the pool's private temporary folder). Nothing else of this process's environment
   * reaches a task. Either
   *
   * - a list of names, passed through from this process's environment (a name it does not have
   *   is left unset): `['DATABASE_URL', 'AWS_REGION']`; or
   * - an object of names and values: a string sets the variable, `true` passes it through:
   *   `{ DEBUG: 'app:*', DATABASE_URL: true }`.
   *
   * An entry wins over a fixed variable of the same name. Prefer passing secrets through by name,
   * so their values never sit in a configuration file. Default: none.
   */
  env?: LocalEnvironmentOption;
};

/** The `env` compute option: names to pass through, or names with a value to set (`true`: pass through). */
export type LocalEnvironmentOption = readonly string[] | Readonly<Record<string, string | true>>;

/** The `env` option after validation, in one shape: each name with its value, or `true` to pass it through. */
export type ResolvedLocalEnvironment = Readonly<Record<string, string | true>>;

/** Storage options after validation, with defaults applied and the root made absolute. */
export type ResolvedLocalStorageOptions = {
  root: string;
};

/** Compute options after validation, with defaults applied. */
export type ResolvedLocalComputeOptions = {
  workers: number;
  memoryMb: number;
  env: ResolvedLocalEnvironment;
};

/** Default storage folder, relative to the configuration's base directory. */
export const DEFAULT_STORAGE_ROOT = '.fanout/storage';

/** Default heap limit per child process, in MiB. */
export const DEFAULT_MEMORY_MB = 2048;

/**
 * Smallest heap limit accepted, in MiB: below this Node cannot load the worker and a bundle
 * before the limit is hit, so every invocation would fail with `OUT_OF_MEMORY`.
 */
export const MIN_MEMORY_MB = 32;

/** Largest heap limit accepted, in MiB (1 TiB): a guard against a value given in bytes by mistake. */
export const MAX_MEMORY_MB = 1024 * 1024;

/**
 * Most child processes accepted: each one is a full Node process of 30 MiB or more, so a larger
 * number is almost certainly a mistake (the limit is far above any core count we expect).
 */
export const MAX_WORKERS = 1024;

/** The number of workers used when none is configured. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Validate storage options from configuration. Throws `CONFIG_INVALID` naming
 * `${context.configPath}.<key>` for an unknown key or a bad value.
 */
export function parseLocalStorageOptions(options: unknown, context: PluginContextV1): ResolvedLocalStorageOptions {
  const record = optionsRecord(options, context, { adapter: 'local', known: ['root'], example: '{ root: ".fanout/storage" }' });
  const root = record.root;
  if (root === undefined) return { root: resolve(context.baseDirectory, DEFAULT_STORAGE_ROOT) };
  if (typeof root !== 'string' || root.trim() === '') {
    throw optionError(
      context,
      'root',
      `must be a non-empty folder path, got ${describeValue(root)}. Use a path such as ".fanout/storage" (relative to ${context.baseDirectory}) or an absolute path, or leave it out for the default "${DEFAULT_STORAGE_ROOT}".`,
    );
  }
  if (root.includes('\0')) {
    throw optionError(context, 'root', 'contains a NUL character, which no file system accepts. Fix the path.');
  }
  return { root: isAbsolute(root) ? resolve(root) : resolve(context.baseDirectory, root) };
}

/**
 * Validate compute options from configuration. Throws `CONFIG_INVALID` naming
 * `${context.configPath}.<key>` for an unknown key or a bad value.
 */
export function parseLocalComputeOptions(options: unknown, context: PluginContextV1): ResolvedLocalComputeOptions {
  const record = optionsRecord(options, context, { adapter: 'local', known: ['workers', 'memoryMb', 'env'], example: '{ workers: 2, memoryMb: 2048 }' });
  const workers = record.workers ?? defaultWorkerCount();
  if (!isIntegerBetween(workers, 1, MAX_WORKERS)) {
    throw optionError(
      context,
      'workers',
      `must be a whole number from 1 to ${MAX_WORKERS}, got ${describeValue(workers)}. Leave it out to use one process per core (${defaultWorkerCount()} here).`,
    );
  }
  const memoryMb = record.memoryMb ?? DEFAULT_MEMORY_MB;
  if (!isIntegerBetween(memoryMb, MIN_MEMORY_MB, MAX_MEMORY_MB)) {
    throw optionError(
      context,
      'memoryMb',
      `must be a whole number of MiB from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}, got ${describeValue(memoryMb)}. It is each child process's heap limit; leave it out for ${DEFAULT_MEMORY_MB}.`,
    );
  }
  const problem = environmentProblem(record.env);
  if (problem) throw optionError(context, problem.key, problem.problem);
  return { workers, memoryMb, env: resolveEnvironmentOption(record.env as LocalEnvironmentOption | undefined) };
}

/**
 * What is wrong with an `env` option, if anything: the key to name (`env`, `env[2]`, `env.NAME`)
 * and the problem with how to fix it. Shared by the configuration's validation (`CONFIG_INVALID`)
 * and `LocalCompute`'s constructor (`TypeError`).
 */
export function environmentProblem(env: unknown): { key: string; problem: string } | undefined {
  if (env === undefined) return undefined;
  if (Array.isArray(env)) {
    for (const [index, name] of env.entries()) {
      if (typeof name !== 'string') {
        return { key: `env[${index}]`, problem: `must be the name of an environment variable to pass through, such as "DATABASE_URL", got ${describeValue(name)}.` };
      }
      const problem = nameProblem(name);
      if (problem) return { key: `env[${index}]`, problem: `must be the name of an environment variable to pass through, such as "DATABASE_URL", but ${problem}` };
    }
    return undefined;
  }
  if (!isPlainObject(env)) {
    return {
      key: 'env',
      problem: `must be a list of variable names to pass through from this process's environment, such as ["DATABASE_URL"], or an object of names and values, such as { "DEBUG": "app", "DATABASE_URL": true } (a string sets the variable, true passes it through); got ${describeValue(env)}. Leave it out to give workers only their fixed variables.`,
    };
  }
  for (const [name, value] of Object.entries(env)) {
    const problem = nameProblem(name);
    if (problem) return { key: 'env', problem: `has a key that is not an environment variable name: ${problem}` };
    const key = `env.${name}`;
    if (value === true) continue;
    if (typeof value !== 'string') {
      let hint = '';
      if (typeof value === 'number' || typeof value === 'bigint') hint = ` Write it as a string: "${String(value)}".`;
      else if (value === false || value === null || value === undefined) {
        hint = isFixedVariable(name)
          ? ` ${name} is one of the variables every worker gets; it can be given another value, not removed.`
          : ' To leave the variable out, remove the entry.';
      }
      return { key, problem: `must be a string (the value to set) or true (pass this process's value through), got ${describeValue(value)}.${hint}` };
    }
    if (value.includes('\0')) return { key, problem: 'contains a NUL character, which an environment variable cannot hold. Remove it.' };
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** Why a string is not a variable name, if it is not one. */
function nameProblem(name: string): string | undefined {
  if (name === '') return 'it is empty. Remove it.';
  if (/[=\0\s]/.test(name)) {
    return `${JSON.stringify(name)} holds "=", a space or NUL. Give the name alone; to set a value, use the object form { "NAME": "value" }.`;
  }
  return undefined;
}

function isFixedVariable(name: string): boolean {
  return [...PASSED_VARIABLES, ...TEMPORARY_VARIABLES].includes(name) || PASSED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** The `env` option in one shape: a list of names becomes `{ NAME: true }`. Assumes it is valid. */
export function resolveEnvironmentOption(env: LocalEnvironmentOption | undefined): ResolvedLocalEnvironment {
  if (env === undefined) return {};
  if (Array.isArray(env)) return Object.fromEntries((env as readonly string[]).map((name) => [name, true]));
  return { ...(env as ResolvedLocalEnvironment) };
}
