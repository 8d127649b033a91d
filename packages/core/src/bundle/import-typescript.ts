import { rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

/**
 * Import a TypeScript file (a `fanout.config.ts`) from plain Node. It is compiled with esbuild,
 * which fanout already uses for bundling, and written beside the original so that its imports of
 * installed packages resolve exactly as they would from the original file.
 */
export async function importTypeScriptFile(path: string): Promise<Record<string, unknown>> {
  const result = await build({
    entryPoints: [path],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const compiled = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.mjs`);
  await writeFile(compiled, result.outputFiles[0]!.contents);
  try {
    return (await import(pathToFileURL(compiled).href)) as Record<string, unknown>;
  } finally {
    await rm(compiled, { force: true });
  }
}
