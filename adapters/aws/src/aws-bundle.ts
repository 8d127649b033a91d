/**
 * Builds the deployable Lambda package: the handler (`aws-runtime.ts`) and the worker process
 * it supervises (`aws-worker-process.ts`), each with everything it imports bundled by esbuild
 * into one ES module (`index.mjs`, small; `aws-worker-process.mjs`, with the S3 client), zipped.
 * The output is deterministic (fixed timestamps and modes in the zip), so `fanout deploy`
 * compares its SHA-256 with the deployed function's and uploads only when the code changed.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import yazl from 'yazl';
import { ErrorCode, FanoutError } from '@fanout/spec';

/** The file name of the handler's bundle inside the zip, and the function's handler. */
export const RUNTIME_FILE_NAME = 'index.mjs';
/** The worker process's bundle, beside it: the name `aws-runtime.ts` forks. */
export const WORKER_PROCESS_FILE_NAME = 'aws-worker-process.mjs';
export const RUNTIME_HANDLER = 'index.handler';

/** The package folder: `src/` and `dist/` are both one level below it. */
const packageDirectory = fileURLToPath(new URL('..', import.meta.url));

/** The runtime's sources, shipped in the package so that they can be bundled where it is installed. */
export const RUNTIME_SOURCE_PATH = join(packageDirectory, 'src', 'aws-runtime.ts');
const WORKER_PROCESS_SOURCE_PATH = join(packageDirectory, 'src', 'aws-worker-process.ts');

// A fixed date keeps the zip byte-identical from one build to the next. DOS times are local
// times, so the date is built from local fields, and the UTC extra field is left out: the same
// bytes on every machine, whatever its time zone.
const ZIP_TIME = new Date(2020, 0, 1, 0, 0, 0);

/** The built package. */
export type RuntimeArchive = {
  /** The zip, as uploaded to Lambda. */
  zip: Uint8Array;
  /** Base64 SHA-256 of the zip: what Lambda reports as the function's `CodeSha256`. */
  codeSha256: string;
  /** The bundled handler, `index.mjs` in the zip. */
  bundle: Uint8Array;
  /** The bundled worker process, `aws-worker-process.mjs` in the zip. */
  workerBundle: Uint8Array;
};

/**
 * Bundle the runtime and zip it. Workspace packages resolve to their TypeScript sources (the
 * `source` export condition), so the runtime always matches the code it was built from.
 * Throws `BUNDLE_FAILED` when esbuild cannot bundle it.
 */
export async function buildRuntimeArchive(): Promise<RuntimeArchive> {
  const missing = [RUNTIME_SOURCE_PATH, WORKER_PROCESS_SOURCE_PATH].find((path) => !existsSync(path));
  if (missing) {
    throw new FanoutError(`The runtime source ${missing} is missing from @fanout/adapter-aws; reinstall the package.`, {
      code: ErrorCode.BUNDLE_FAILED,
      fault: 'backend',
    });
  }
  let bundle: Uint8Array;
  let workerBundle: Uint8Array;
  try {
    const result = await build({
      // Two bundles, no shared chunks: the handler's process never loads the S3 client.
      entryPoints: { index: RUNTIME_SOURCE_PATH, 'aws-worker-process': WORKER_PROCESS_SOURCE_PATH },
      // Nothing is written (write: false): the folder only gives the outputs their names.
      outdir: 'lambda-package',
      outExtension: { '.js': '.mjs' },
      bundle: true,
      write: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      conditions: ['source'],
      mainFields: ['module', 'main'],
      // Readable stack traces in CloudWatch: whitespace and syntax only, names kept.
      minifyWhitespace: true,
      minifySyntax: true,
      keepNames: true,
      legalComments: 'none',
      logLevel: 'silent',
      // Some of the SDK's CommonJS dependencies call require() on Node built-ins.
      banner: { js: "import { createRequire as __fanoutCreateRequire } from 'node:module'; const require = __fanoutCreateRequire(import.meta.url);" },
    });
    const output = (name: string) => {
      const file = result.outputFiles.find((candidate) => candidate.path.endsWith(`/${name}`));
      if (!file) throw new Error(`esbuild produced no ${name}`);
      return file.contents;
    };
    bundle = output(RUNTIME_FILE_NAME);
    workerBundle = output(WORKER_PROCESS_FILE_NAME);
  } catch (error) {
    throw new FanoutError(`Bundling the Lambda runtime failed: ${(error as Error).message}`, {
      code: ErrorCode.BUNDLE_FAILED,
      fault: 'backend',
      cause: error,
    });
  }
  const zip = await zipFiles([
    [RUNTIME_FILE_NAME, bundle],
    [WORKER_PROCESS_FILE_NAME, workerBundle],
  ]);
  return { zip, codeSha256: createHash('sha256').update(zip).digest('base64'), bundle, workerBundle };
}

/** Zip files with fixed metadata, deflated. */
export function zipFiles(files: ReadonlyArray<readonly [string, Uint8Array]>): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const [name, bytes] of files) {
      zip.addBuffer(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), name, { mtime: ZIP_TIME, mode: 0o100644, compress: true, forceDosTimestamp: true });
    }
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.end();
  });
}
