import { DefaultSerializer, deserialize, serialize } from 'node:v8';

/**
 * Values travel in V8's structured-clone format (`node:v8`): the same algorithm as
 * `structuredClone` and `postMessage`, so `Uint8Array`, `Date`, `Map`, `Set`, `BigInt`, `RegExp`,
 * errors and cycles round-trip, functions and symbols are refused, and class instances arrive as
 * plain objects. See docs/decisions/0002-structured-clone-serialization.md.
 */
export function serializeValue(value: unknown): Buffer {
  return serialize(value);
}

/** `DefaultSerializer` with `_writeHostObject`, which Node documents as overridable but its types leave out. */
type HostObjectSerializer = new () => DefaultSerializer & { _writeHostObject(view: NodeJS.TypedArray | DataView): void };

/** Views at least this large are referenced by {@link serializeValueToParts} instead of copied. */
const REFERENCED_VIEW_BYTES = 16 * 1024;

/**
 * Serializes like `DefaultSerializer`, but hands the bytes of large views over as parts of their
 * own instead of copying them into its buffer: at each one, the buffer written so far is released
 * as a part (the serializer then starts a new one) and the view's bytes follow as the next part.
 * The format has no absolute offsets, so the parts joined are a valid serialization of the value.
 */
class PartsSerializer extends (DefaultSerializer as HostObjectSerializer) {
  // Declared, not initialized: field initializers on this native-backed object would make
  // serializing a small value about twice as slow as `v8.serialize`.
  /** Everything before the last referenced view; created on the first one. */
  declare parts: Uint8Array[] | undefined;
  /** Set while `DefaultSerializer` writes a large view, whose raw bytes are then referenced. */
  declare private referenceNextBytes: boolean | undefined;

  override _writeHostObject(view: NodeJS.TypedArray | DataView): void {
    this.referenceNextBytes = view.byteLength >= REFERENCED_VIEW_BYTES;
    super._writeHostObject(view);
  }

  override writeRawBytes(bytes: NodeJS.TypedArray | DataView): void {
    if (this.referenceNextBytes !== true) return super.writeRawBytes(bytes);
    this.referenceNextBytes = false;
    (this.parts ??= []).push(this.releaseBuffer(), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
}

/**
 * {@link serializeValue} without copying large `ArrayBufferView`s: their bytes are returned as
 * parts that alias the value's own memory, for a caller that writes the parts out (a vectored
 * write) instead of joining them. The parts are only valid while the value is left unmodified.
 */
export function serializeValueToParts(value: unknown): Uint8Array[] {
  // A primitive holds no view; the plain serializer is faster on small values.
  if (typeof value !== 'object' || value === null) return [serializeValue(value)];
  const serializer = new PartsSerializer();
  serializer.writeHeader();
  serializer.writeValue(value);
  const rest = serializer.releaseBuffer();
  if (!serializer.parts) return [rest];
  if (rest.byteLength > 0) serializer.parts.push(rest);
  return serializer.parts;
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
