import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { describeValue, isIntegerBetween, optionError, optionsRecord } from '@fanout/adapter-kit';
import type { PluginContextV1 } from '@fanout/spec';

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
  const record = optionsRecord(options, context, { adapter: 'local', known: ['workers', 'memoryMb'], example: '{ workers: 2, memoryMb: 2048 }' });
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
  return { workers, memoryMb };
}

