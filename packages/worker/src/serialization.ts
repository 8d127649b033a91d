import { deserialize, serialize } from 'node:v8';

/**
 * Values travel in V8's structured-clone format (`node:v8`): the same algorithm as
 * `structuredClone` and `postMessage`, so `Uint8Array`, `Date`, `Map`, `Set`, `BigInt`, `RegExp`,
 * errors and cycles round-trip, functions and symbols are refused, and class instances arrive as
 * plain objects. See docs/decisions/0002-structured-clone-serialization.md.
 */
export function serializeValue(value: unknown): Buffer {
  return serialize(value);
}

export function deserializeValue(bytes: Uint8Array): unknown {
  return deserialize(bytes);
}

const frameHeaderBytes = 4;

/**
 * Concatenate serialized values, each behind a 4-byte little-endian length, so that any
 * contiguous run of tasks is one contiguous byte range.
 */
export function frame(values: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const value of values) total += frameHeaderBytes + value.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const value of values) {
    out.writeUInt32LE(value.byteLength, offset);
    out.set(value, offset + frameHeaderBytes);
    offset += frameHeaderBytes + value.byteLength;
  }
  return out;
}

/** The framed size of one serialized value. */
export function framedSize(value: Uint8Array): number {
  return frameHeaderBytes + value.byteLength;
}

/** Split framed bytes back into the serialized values (views, not copies). */
export function unframe(bytes: Uint8Array): Uint8Array[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values: Uint8Array[] = [];
  let offset = 0;
  while (offset < buffer.byteLength) {
    if (offset + frameHeaderBytes > buffer.byteLength) throw new RangeError('truncated frame header');
    const length = buffer.readUInt32LE(offset);
    const start = offset + frameHeaderBytes;
    if (start + length > buffer.byteLength) throw new RangeError('truncated frame body');
    values.push(buffer.subarray(start, start + length));
    offset = start + length;
  }
  return values;
}
