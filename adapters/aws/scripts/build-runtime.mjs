// Build the deployable Lambda package (the handler bundled into index.mjs, the worker process
// into aws-worker-process.mjs, zipped) into
// runtime/fanout-aws-runtime.zip, for inspection or a manual upload. `fanout deploy` builds the
// same bytes itself. Needs the compiled package: run `npx tsc -b` first.
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildRuntimeArchive } from '../dist/aws-bundle.js';

const folder = fileURLToPath(new URL('../runtime/', import.meta.url));
const archive = await buildRuntimeArchive();
await mkdir(folder, { recursive: true });
await writeFile(`${folder}fanout-aws-runtime.zip`, archive.zip);
console.log(`runtime/fanout-aws-runtime.zip: ${archive.zip.byteLength} bytes (index.mjs ${archive.bundle.byteLength} bytes, aws-worker-process.mjs ${archive.workerBundle.byteLength} bytes), CodeSha256 ${archive.codeSha256}`);
