/**
 * What a local worker process gets of the client's surroundings: an explicit environment, and a
 * private folder of the pool's own for its working directory, temporary files and code bundles.
 * Nothing else of the client's environment (cloud credentials, tokens) reaches a task unless the
 * `env` option names it, so a task cannot print or return it into a stored result record.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedLocalEnvironment } from './local-options.js';

/**
 * Passed through from the client when it has them: what tasks and the tools they start expect
 * of any process (finding programs, the home folder, the locale and the time zone).
 */
export const PASSED_VARIABLES: readonly string[] = ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TZ'];

/** Passed through from the client too: every locale category (`LC_ALL`, `LC_CTYPE`, `LC_NUMERIC`...). */
export const PASSED_PREFIXES: readonly string[] = ['LC_'];

/**
 * Also passed through on Windows, where Node and the system libraries need them to start, to
 * open sockets and to find the user's folders.
 */
export const PASSED_WINDOWS_VARIABLES: readonly string[] = ['SYSTEMROOT', 'WINDIR', 'COMSPEC', 'PATHEXT', 'USERPROFILE', 'APPDATA', 'LOCALAPPDATA'];

/** Set in every worker to the pool's private temporary folder, whatever the client's are. */
export const TEMPORARY_VARIABLES: readonly string[] = ['TMPDIR', 'TMP', 'TEMP'];

/** Prefix of a pool's private folder in the client's temporary folder. */
export const WORKER_FOLDER_PREFIX = 'fanout-workers-';

type Environment = Record<string, string>;

/**
 * The environment a pool's workers start from, read from `source` (the client's environment)
 * once, when the pool is made: the fixed variables the client has, and what the `env` option
 * chose. {@link WorkerEnvironment.forFolders} adds the temporary folder's variables.
 */
export class WorkerEnvironment {
  private readonly fixed: Environment = {};
  private readonly chosen: Environment = {};

  constructor(
    option: ResolvedLocalEnvironment,
    source: NodeJS.ProcessEnv = process.env,
    private readonly platform: NodeJS.Platform = process.platform,
  ) {
    const windows = platform === 'win32';
    // On Windows names are case-insensitive ("Path" is PATH); elsewhere they are exact.
    const sourceNames = Object.keys(source);
    const lookup = (name: string): string | undefined => {
      if (!windows) return source[name];
      const found = sourceNames.find((candidate) => candidate.toUpperCase() === name.toUpperCase());
      return found === undefined ? undefined : source[found];
    };
    const fixedNames = [
      ...PASSED_VARIABLES,
      ...(windows ? PASSED_WINDOWS_VARIABLES : []),
      ...sourceNames.filter((name) => PASSED_PREFIXES.some((prefix) => (windows ? name.toUpperCase() : name).startsWith(prefix))),
    ];
    for (const name of fixedNames) this.set(this.fixed, name, lookup(name));
    for (const [name, value] of Object.entries(option)) this.set(this.chosen, name, value === true ? lookup(name) : value);
  }

  /** The whole environment of a worker whose temporary folder is `temporary`. The `env` option wins over fixed variables. */
  forFolders(folders: Pick<WorkerFolders, 'temporary'>): Environment {
    const environment: Environment = { ...this.fixed };
    for (const name of TEMPORARY_VARIABLES) this.set(environment, name, folders.temporary);
    for (const [name, value] of Object.entries(this.chosen)) this.set(environment, name, value);
    return environment;
  }

  private set(environment: Environment, name: string, value: string | undefined): void {
    if (value === undefined) return;
    if (this.platform === 'win32') {
      for (const existing of Object.keys(environment)) {
        if (existing.toUpperCase() === name.toUpperCase()) delete environment[existing];
      }
    }
    environment[name] = value;
  }
}

/** A pool's private folder and its parts. */
export type WorkerFolders = {
  /** `<client temporary folder>/fanout-workers-XXXXXX`, readable by this user only. */
  root: string;
  /** The workers' working directory. */
  work: string;
  /** The workers' `TMPDIR`, `TMP` and `TEMP`. */
  temporary: string;
  /** Where the workers write the verified code bundles they import. */
  code: string;
};

/** Folders not removed yet; removed when the client exits, in case `dispose()` is never called. */
const undisposed = new Set<string>();
let exitHookInstalled = false;

/**
 * Make a pool's private folder in the client's temporary folder (`os.tmpdir()`, so the client's
 * `TMPDIR` chooses the disk). `mkdtemp` creates it with mode 0700: no other user can read the
 * bundles or plant one.
 */
export function createWorkerFolders(): WorkerFolders {
  const root = mkdtempSync(join(tmpdir(), WORKER_FOLDER_PREFIX));
  const folders = { root, work: join(root, 'work'), temporary: join(root, 'tmp'), code: join(root, 'code') };
  undisposed.add(root);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', removeUndisposedFolders);
  }
  ensureWorkerFolders(folders);
  return folders;
}

/** Create the parts again if something (a temporary-folder cleaner, a task) removed them. Cheap when present. */
export function ensureWorkerFolders(folders: WorkerFolders): void {
  for (const folder of [folders.work, folders.temporary, folders.code]) mkdirSync(folder, { recursive: true });
}

/** Remove a pool's private folder with everything its tasks left in it. Never throws. */
export async function removeWorkerFolders(folders: WorkerFolders): Promise<void> {
  try {
    await rm(folders.root, { recursive: true, force: true, maxRetries: 3 });
    undisposed.delete(folders.root);
  } catch {
    // Left for the exit hook (a Windows process may still hold it as its working directory).
  }
}

function removeUndisposedFolders(): void {
  for (const root of undisposed) {
    try {
      rmSync(root, { recursive: true, force: true });
    } catch {
      // Nothing more can be done while exiting.
    }
  }
  undisposed.clear();
}
