import { ErrorCode, FanoutError, PROTOCOL_VERSION, type StorageBackendV1 } from '@fanout/spec';

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
   * The lanes the job was submitted over, by name; each lane's storage holds a copy of the job
   * object and that lane's result records. Absent in jobs written before lanes: one lane.
   */
  lanes?: string[];
  /**
   * Byte offset of each task's framed input within the job object, plus one final offset for
   * the end, so that tasks `[first, first + count)` are bytes `[offsets[first], offsets[first + count])`.
   */
  inputOffsets: number[];
};

const magic = Buffer.from('FANOUTJ1');
const headerBytes = magic.byteLength + 4;
const frameHeaderBytes = 4;

/**
 * A job's framed inputs, readable by task range without assembling the whole job object: from
 * the serialized values a client just made, or from a job object read back from storage.
 */
export interface JobInputs {
  /** The framed inputs of tasks `[first, first + count)`, as one contiguous array. */
  framed(first: number, count: number): Uint8Array;
}

/** A job object about to be written: its manifest and its bytes, as parts to stream in order. */
export type EncodedJobObject = {
  manifest: JobManifest;
  /** The object's bytes in order; their concatenation is the job object. */
  parts: Uint8Array[];
  inputs: JobInputs;
};

/**
 * The job object: `FANOUTJ1`, a 4-byte little-endian manifest length, the manifest as JSON, then
 * every task's framed input (4-byte little-endian length, serialized value). It is written once
 * per job, read with byte ranges by workers whose inputs did not fit inline, and read whole by a
 * client that re-attaches.
 *
 * Each input comes as the parts it was serialized into (one array, or several when large views
 * were referenced rather than copied, see `serializeValueToParts`). The parts are kept as they
 * are: the object is streamed to storage part by part and inline payloads are cut from the parts,
 * so a large job's inputs are never copied into one buffer on the client.
 */
export function encodeJobObject(manifest: Omit<JobManifest, 'inputOffsets'>, serialized: readonly (readonly Uint8Array[])[]): EncodedJobObject {
  // Offsets depend on the manifest's own length, which depends on the offsets: compute them
  // relative to the data section, then shift once the header size is known.
  const relative: number[] = [0];
  for (const valueParts of serialized) {
    let size = 0;
    for (const part of valueParts) size += part.byteLength;
    relative.push(relative.at(-1)! + frameHeaderBytes + size);
  }
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
  const frameHeaders = Buffer.allocUnsafe(frameHeaderBytes * serialized.length);
  const parts: Uint8Array[] = [head, Buffer.from(json)];
  /** Index in `parts` of each task's frame header, plus one past the last task's parts. */
  const firstPart: number[] = [];
  serialized.forEach((valueParts, index) => {
    firstPart.push(parts.length);
    frameHeaders.writeUInt32LE(relative[index + 1]! - relative[index]! - frameHeaderBytes, index * frameHeaderBytes);
    parts.push(frameHeaders.subarray(index * frameHeaderBytes, (index + 1) * frameHeaderBytes), ...valueParts);
  });
  firstPart.push(parts.length);
  const inputs: JobInputs = {
    framed: (first, count) => Buffer.concat(parts.slice(firstPart[first], firstPart[first + count])),
  };
  return { manifest: JSON.parse(json) as JobManifest, parts, inputs };
}

/** The inputs of a job object read back whole from storage. */
export function inputsOfJobObject(bytes: Uint8Array, manifest: JobManifest): JobInputs {
  return {
    framed: (first, count) => bytes.subarray(manifest.inputOffsets[first], manifest.inputOffsets[first + count]),
  };
}

/** Enough of a job object to hold the manifest of all but very large jobs in one ranged GET. */
const manifestProbeBytes = 256 * 1024;

/**
 * Read a stored job object's manifest without its inputs: one ranged GET, or two when the
 * manifest (its offsets grow with the task count) is larger than the first probe. `undefined`
 * when there is no such object, including one deleted between the two reads.
 */
export async function readJobManifest(storage: StorageBackendV1, key: string): Promise<JobManifest | undefined> {
  const head = await storage.get(key, { range: { start: 0, end: manifestProbeBytes } });
  if (!head) return undefined;
  // The length is trusted only once the magic says this is a job object.
  const manifestEnd = headerBytes + manifestLength(head, key);
  if (manifestEnd <= head.byteLength) return decodeJobManifest(head, key);
  const whole = await storage.get(key, { range: { start: 0, end: manifestEnd } });
  return whole && decodeJobManifest(whole, key);
}

/** Read the manifest from a job object, or from its first bytes as far as the manifest's end. */
export function decodeJobManifest(bytes: Uint8Array, key: string): JobManifest {
  const length = manifestLength(bytes, key);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let manifest: JobManifest;
  try {
    if (buffer.byteLength < headerBytes + length) throw new Error(`it ends at byte ${buffer.byteLength}, inside its manifest`);
    manifest = JSON.parse(buffer.subarray(headerBytes, headerBytes + length).toString('utf8')) as JobManifest;
  } catch (error) {
    throw new FanoutError(`${key} is not a readable fanout job object: ${(error as Error).message}.`, { code: ErrorCode.PROTOCOL_ERROR, cause: error });
  }
  if (manifest?.protocol !== PROTOCOL_VERSION) {
    throw new FanoutError(`${key} was written with job protocol ${manifest?.protocol}; this client speaks ${PROTOCOL_VERSION}.`, {
      code: ErrorCode.PROTOCOL_ERROR,
    });
  }
  return manifest;
}

/** The manifest's length from a job object's header; `PROTOCOL_ERROR` if the bytes do not start like one. */
function manifestLength(bytes: Uint8Array, key: string): number {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.byteLength < headerBytes || !buffer.subarray(0, magic.byteLength).equals(magic)) {
    throw new FanoutError(`${key} is not a fanout job object.`, { code: ErrorCode.PROTOCOL_ERROR });
  }
  return buffer.readUInt32LE(magic.byteLength);
}
