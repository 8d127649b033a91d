import { ErrorCode, FanoutError, PROTOCOL_VERSION } from '@fanout/spec';

/** What a client needs to re-attach to a job, stored at the head of the job object. */
export type JobManifest = {
  protocol: typeof PROTOCOL_VERSION;
  id: string;
  createdMs: number;
  /** How the task was named, for `fanout jobs` and `status`. */
  label: string;
  code: { key: string; sha256: string; exportName: string };
  taskCount: number;
  /** Tasks per invocation the job was planned with. */
  chunkSize: number;
  timeoutMs: number;
  /**
   * Byte offset of each task's framed input within the job object, plus one final offset for
   * the end, so that tasks `[first, first + count)` are bytes `[offsets[first], offsets[first + count])`.
   */
  inputOffsets: number[];
};

const magic = Buffer.from('FANOUTJ1');
const headerBytes = magic.byteLength + 4;

/**
 * The job object: `FANOUTJ1`, a 4-byte little-endian manifest length, the manifest as JSON, then
 * every task's framed input. It is written once per job, read with byte ranges by workers whose
 * inputs did not fit inline, and read whole by a client that re-attaches.
 */
export function encodeJobObject(
  manifest: Omit<JobManifest, 'inputOffsets'>,
  framedInputs: readonly Uint8Array[],
): { bytes: Buffer; manifest: JobManifest } {
  // Offsets depend on the manifest's own length, which depends on the offsets: compute them
  // relative to the data section, then shift once the header size is known.
  const relative: number[] = [0];
  for (const input of framedInputs) relative.push(relative.at(-1)! + input.byteLength);
  let shift = 0;
  let json = '';
  for (;;) {
    const inputOffsets = relative.map((offset) => offset + shift);
    json = JSON.stringify({ ...manifest, inputOffsets });
    const dataStart = headerBytes + Buffer.byteLength(json);
    if (dataStart === shift) break;
    shift = dataStart;
  }
  const head = Buffer.alloc(headerBytes);
  magic.copy(head);
  head.writeUInt32LE(Buffer.byteLength(json), magic.byteLength);
  const bytes = Buffer.concat([head, Buffer.from(json), ...framedInputs]);
  return { bytes, manifest: JSON.parse(json) as JobManifest };
}

/** Read the manifest from a job object (or its first bytes). */
export function decodeJobManifest(bytes: Uint8Array, key: string): JobManifest {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.byteLength < headerBytes || !buffer.subarray(0, magic.byteLength).equals(magic)) {
    throw new FanoutError(`${key} is not a fanout job object.`, { code: ErrorCode.PROTOCOL_ERROR });
  }
  const length = buffer.readUInt32LE(magic.byteLength);
  const manifest = JSON.parse(buffer.subarray(headerBytes, headerBytes + length).toString('utf8')) as JobManifest;
  if (manifest.protocol !== PROTOCOL_VERSION) {
    throw new FanoutError(`${key} was written with job protocol ${manifest.protocol}; this client speaks ${PROTOCOL_VERSION}.`, {
      code: ErrorCode.PROTOCOL_ERROR,
    });
  }
  return manifest;
}
