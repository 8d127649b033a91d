import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, FanoutError } from '@fanout/spec';

/**
 * The file an ES module specifier names, as seen from `cwd`: a `file:` URL, a path, or a package
 * name (with an optional subpath) resolved through `node_modules` and the package's `exports`
 * with the `import`, `node` and `default` conditions plus any given. A package not installed in
 * the project is looked for beside `@fanout/core`, which brings fanout's local adapter (the
 * compute a storage-only adapter is paired with). Throws `ADAPTER_NOT_FOUND`.
 *
 * Written out rather than left to `require.resolve`, because certification inside a workspace
 * resolves with extra conditions (`source`) that Node only takes as a process flag.
 */
export function resolveModuleFile(specifier: string, cwd: string, conditions: readonly string[] = []): string {
  if (specifier.startsWith('file:')) return fileURLToPath(specifier);
  if (specifier.startsWith('.') || isAbsolute(specifier)) return resolve(cwd, specifier);
  const found = findPackageFile(specifier, cwd, conditions) ?? findPackageFile(specifier, besideCore(), conditions);
  if (found !== undefined) return found;
  throw new FanoutError(`The module ${JSON.stringify(specifier)} cannot be found from ${cwd}. Install it, or give a path to it.`, {
    code: ErrorCode.ADAPTER_NOT_FOUND,
    fault: 'caller',
  });
}

/** The folder of the `@fanout/core` this suite runs jobs with. */
function besideCore(): string {
  return dirname(createRequire(import.meta.url).resolve('@fanout/core'));
}

function findPackageFile(specifier: string, cwd: string, conditions: readonly string[]): string | undefined {
  const parts = specifier.split('/');
  const nameLength = specifier.startsWith('@') ? 2 : 1;
  const name = parts.slice(0, nameLength).join('/');
  const subpath = ['.', ...parts.slice(nameLength)].join('/');
  for (let directory = resolve(cwd); ; directory = dirname(directory)) {
    const packageDirectory = join(directory, 'node_modules', name);
    if (existsSync(join(packageDirectory, 'package.json'))) {
      const manifest = JSON.parse(readFileSync(join(packageDirectory, 'package.json'), 'utf8')) as { exports?: unknown; main?: string };
      const target = manifest.exports === undefined
        ? subpath === '.' ? manifest.main ?? 'index.js' : subpath
        : exportTarget(manifest.exports, subpath, new Set([...conditions, 'import', 'node', 'default']));
      return target === undefined ? undefined : join(packageDirectory, target);
    }
    if (dirname(directory) === directory) return undefined;
  }
}

/** Node's reading of an `exports` field, for one subpath and a set of conditions (no patterns). */
function exportTarget(exports: unknown, subpath: string, conditions: ReadonlySet<string>): string | undefined {
  const isSubpathMap = typeof exports === 'object' && exports !== null && Object.keys(exports).some((key) => key.startsWith('.'));
  const entry = isSubpathMap ? (exports as Record<string, unknown>)[subpath] : subpath === '.' ? exports : undefined;
  return pick(entry, conditions);
}

function pick(entry: unknown, conditions: ReadonlySet<string>): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const candidate of entry) {
      const found = pick(candidate, conditions);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null) return undefined;
  // Object key order is the priority order, as in Node.
  for (const [condition, value] of Object.entries(entry)) {
    if (!conditions.has(condition)) continue;
    const found = pick(value, conditions);
    if (found !== undefined) return found;
  }
  return undefined;
}
