/**
 * The real runtime package for tests: built by the same code `fanout deploy` uses, then
 * unpacked from the zip (deflate, read with zlib) into a folder, as Lambda unpacks it.
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { buildRuntimeArchive, type RuntimeArchive } from '../src/aws-bundle.js';

/** The files of a zip archive, by name. Supports what yazl writes: stored and deflated entries. */
export function unzip(zip: Uint8Array): Map<string, Buffer> {
  const bytes = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  const end = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = bytes.readUInt16LE(end + 10);
  let offset = bytes.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let index = 0; index < count; index += 1) {
    if (bytes.readUInt32LE(offset) !== 0x02014b50) throw new Error('bad central directory entry');
    const method = bytes.readUInt16LE(offset + 10);
    const compressedSize = bytes.readUInt32LE(offset + 20);
    const nameLength = bytes.readUInt16LE(offset + 28);
    const extraLength = bytes.readUInt16LE(offset + 30);
    const commentLength = bytes.readUInt16LE(offset + 32);
    const localOffset = bytes.readUInt32LE(offset + 42);
    const name = bytes.toString('utf8', offset + 46, offset + 46 + nameLength);
    const dataStart = localOffset + 30 + bytes.readUInt16LE(localOffset + 26) + bytes.readUInt16LE(localOffset + 28);
    const data = bytes.subarray(dataStart, dataStart + compressedSize);
    files.set(name, method === 8 ? inflateRawSync(data) : Buffer.from(data));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/** Build the package and unpack it into a fresh folder (Lambda's LAMBDA_TASK_ROOT). */
export async function unpackedRuntime(): Promise<{ archive: RuntimeArchive; directory: string }> {
  const archive = await buildRuntimeArchive();
  const directory = await mkdtemp(join(tmpdir(), 'fanout-lambda-task-'));
  for (const [name, contents] of unzip(archive.zip)) {
    await mkdir(dirname(join(directory, name)), { recursive: true });
    await writeFile(join(directory, name), contents);
  }
  return { archive, directory };
}

/** A folder holding one handler module, for functions that are not the fanout runtime. */
export async function handlerFolder(source: string): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'fanout-lambda-other-'));
  await writeFile(join(directory, 'index.mjs'), source);
  return directory;
}
