import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ErrorCode, FanoutError, type PluginContextV1 } from '@fanout/spec';

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
};

/** Storage options after validation, with defaults applied and the root made absolute. */
export type ResolvedLocalStorageOptions = {
  root: string;
};

/** Compute options after validation, with defaults applied. */
export type ResolvedLocalComputeOptions = {
  workers: number;
  memoryMb: number;
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
  const record = asOptionsRecord(options, context, ['root']);
  const root = record.root;
  if (root === undefined) return { root: resolve(context.baseDirectory, DEFAULT_STORAGE_ROOT) };
  if (typeof root !== 'string' || root.trim() === '') {
    throw configInvalid(
      context,
      'root',
      `must be a non-empty folder path, got ${describe(root)}. Use a path such as ".fanout/storage" (relative to ${context.baseDirectory}) or an absolute path, or leave it out for the default "${DEFAULT_STORAGE_ROOT}".`,
    );
  }
  if (root.includes('\0')) {
    throw configInvalid(context, 'root', 'contains a NUL character, which no file system accepts. Fix the path.');
  }
  return { root: isAbsolute(root) ? resolve(root) : resolve(context.baseDirectory, root) };
}

/**
 * Validate compute options from configuration. Throws `CONFIG_INVALID` naming
 * `${context.configPath}.<key>` for an unknown key or a bad value.
 */
export function parseLocalComputeOptions(options: unknown, context: PluginContextV1): ResolvedLocalComputeOptions {
  const record = asOptionsRecord(options, context, ['workers', 'memoryMb']);
  const workers = record.workers ?? defaultWorkerCount();
  if (!isIntegerBetween(workers, 1, MAX_WORKERS)) {
    throw configInvalid(
      context,
      'workers',
      `must be a whole number from 1 to ${MAX_WORKERS}, got ${describe(workers)}. Leave it out to use one process per core (${defaultWorkerCount()} here).`,
    );
  }
  const memoryMb = record.memoryMb ?? DEFAULT_MEMORY_MB;
  if (!isIntegerBetween(memoryMb, MIN_MEMORY_MB, MAX_MEMORY_MB)) {
    throw configInvalid(
      context,
      'memoryMb',
      `must be a whole number of MiB from ${MIN_MEMORY_MB} to ${MAX_MEMORY_MB}, got ${describe(memoryMb)}. It is each child process's heap limit; leave it out for ${DEFAULT_MEMORY_MB}.`,
    );
  }
  return { workers, memoryMb };
}

/** True for an integer in `[minimum, maximum]`. */
export function isIntegerBetween(value: unknown, minimum: number, maximum: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= minimum && value <= maximum;
}

function asOptionsRecord(options: unknown, context: PluginContextV1, known: readonly string[]): Record<string, unknown> {
  // A config file may spell "no options" as an absent key or as null; both mean the defaults.
  if (options === undefined || options === null) return {};
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new FanoutError(
      `${context.configPath} must be an object such as { ${known.map((key) => `${key}: ...`).join(', ')} }, got ${describe(options)}.`,
      { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
    );
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) {
      throw configInvalid(
        context,
        key,
        `is not an option of the local adapter. Known options here: ${known.join(', ')}. Check the spelling or remove it.`,
      );
    }
  }
  return record;
}

function configInvalid(context: PluginContextV1, key: string, problem: string): FanoutError {
  return new FanoutError(`${context.configPath}.${key} ${problem}`, { code: ErrorCode.CONFIG_INVALID, fault: 'caller' });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a value of type ${typeof value}`;
}
