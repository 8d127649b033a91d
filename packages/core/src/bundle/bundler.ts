import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { build, type BuildFailure, type BuildOptions, type Message } from 'esbuild';

/** A task's code, bundled into one ES module and addressed by content. */
export type CodeBundle = {
  /** Lowercase hex SHA-256 of `contents`; the bundle's storage key is derived from it. */
  sha256: string;
  contents: Uint8Array;
  /** Every name the bundle exports. */
  exports: string[];
};

// A bundled CommonJS dependency that calls `require('fs')` needs a real `require` in ESM.
const requireShim = "import { createRequire as __fanoutCreateRequire } from 'node:module';\nconst require = __fanoutCreateRequire(import.meta.url);";

const sharedOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  metafile: true,
  logLevel: 'silent',
  banner: { js: requireShim },
  // Keep function and class names: they appear in remote stack traces and error names.
  keepNames: true,
  // A source map (without the sources themselves) lets the worker report stack frames at the
  // user's own files and lines instead of at the bundle.
  sourcemap: 'inline',
  sourcesContent: false,
  absWorkingDir: process.cwd(),
  sourceRoot: `${pathToFileURL(process.cwd()).href}/`,
} satisfies BuildOptions;

/**
 * Bundle a task module and everything it imports into one ES module, so a worker needs nothing
 * but the bundle. Anything that cannot travel that way (a native addon, a missing package) is a
 * `BUNDLE_FAILED` error here, on the client, rather than a crash in the cloud.
 */
export async function bundleModule(file: string): Promise<CodeBundle> {
  return finish(file, () => build({ ...sharedOptions, entryPoints: [file] }));
}

/** Bundle the source of a self-contained function as the module's default export. */
export async function bundleInline(source: string, resolveDirectory: string): Promise<CodeBundle> {
  return finish('an inline task function', () =>
    build({
      ...sharedOptions,
      stdin: { contents: `export default (${source});\n`, loader: 'js', resolveDir: resolveDirectory, sourcefile: 'inline-task.js' },
    }),
  );
}

async function finish(what: string, run: () => ReturnType<typeof build>): Promise<CodeBundle> {
  let result: Awaited<ReturnType<typeof build>>;
  try {
    result = await run();
  } catch (error) {
    throw bundleError(what, error as BuildFailure);
  }
  const output = result.outputFiles?.[0];
  const meta = Object.values(result.metafile?.outputs ?? {})[0];
  if (!output || !meta) throw new FanoutError(`esbuild produced no output for ${what}.`, { code: ErrorCode.BUNDLE_FAILED, fault: 'caller' });
  return {
    sha256: createHash('sha256').update(output.contents).digest('hex'),
    contents: output.contents,
    exports: meta.exports,
  };
}

function bundleError(what: string, failure: BuildFailure): FanoutError {
  const messages: Message[] = failure.errors ?? [];
  const described = messages.map((message) => {
    const where = message.location ? `${message.location.file}:${message.location.line}: ` : '';
    return `  ${where}${message.text}${hintFor(message.text)}`;
  });
  return new FanoutError(
    `Could not bundle ${what} into one file for the workers:\n${described.join('\n') || `  ${failure.message}`}`,
    { code: ErrorCode.BUNDLE_FAILED, fault: 'caller', cause: failure },
  );
}

function hintFor(text: string): string {
  if (/\.node\b/.test(text)) {
    return ' (a native addon cannot run in a cloud function built for another machine: use a pure JavaScript or WebAssembly package instead)';
  }
  if (text.startsWith('Could not resolve')) return ' (install the package in your project, or remove the import)';
  return '';
}
