/**
 * The job protocol over JSON, for platforms whose invocations carry JSON only (Lambda; Cloud
 * Functions and Azure Functions over HTTP likewise).
 *
 * Bytes travel as `{ "$base64": "..." }`. Only the payload's inline inputs and the response's
 * record are bytes; the codec handles bytes anywhere so that a later protocol field needs no
 * change here. Payloads hold no user strings that could be mistaken for the marker: their
 * strings are ids, keys and export names, and their user data is bytes.
 */
import { ErrorCode, FanoutError, type InvocationPayloadV1 } from '@fanout/spec';

/** The key that marks an encoded byte array. */
export const BYTES_MARKER = '$base64';

/** A JSON-ready copy of `value`: every `Uint8Array` (Buffers included) becomes `{ $base64 }`. */
export function toJsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return { [BYTES_MARKER]: base64(value) };
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(value)) if (entry !== undefined) out[key] = toJsonValue(entry);
    return out;
  }
  return value;
}

/** The inverse of {@link toJsonValue}, on parsed JSON: `{ $base64 }` objects become `Uint8Array`s. */
export function fromJsonValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromJsonValue);
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const encoded = record[BYTES_MARKER];
    if (typeof encoded === 'string' && Object.keys(record).length === 1) return fromBase64(encoded);
    const out: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(record)) out[key] = fromJsonValue(entry);
    return out;
  }
  return value;
}

/** The payload as the JSON bytes an invocation request carries. */
export function encodeJsonPayload(payload: InvocationPayloadV1): Uint8Array {
  return Buffer.from(JSON.stringify(toJsonValue(payload)), 'utf8');
}

/**
 * The exact size in bytes of {@link encodeJsonPayload}'s output, without encoding the bytes:
 * base64 needs no JSON escaping, so each byte array adds exactly its base64 length to the
 * envelope measured with empty strings in its place.
 */
export function jsonPayloadSize(payload: InvocationPayloadV1): number {
  let base64Bytes = 0;
  const envelope = JSON.stringify(payload, (_key, entry: unknown) => {
    if (entry instanceof Uint8Array) {
      base64Bytes += base64Length(entry.byteLength);
      return { [BYTES_MARKER]: '' };
    }
    // JSON.stringify calls a Buffer's toJSON before the replacer sees it.
    if (isSerializedBuffer(entry)) {
      base64Bytes += base64Length(entry.data.length);
      return { [BYTES_MARKER]: '' };
    }
    return entry;
  });
  return Buffer.byteLength(envelope, 'utf8') + base64Bytes;
}

/**
 * Check and decode an invocation payload that arrived as parsed JSON (a Lambda event). Throws
 * `PROTOCOL_ERROR` when it is not an object; the worker checks the protocol version and the rest.
 */
export function decodeJsonPayload(event: unknown): InvocationPayloadV1 {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new FanoutError(`The invocation event is not a fanout payload (got ${event === null ? 'null' : typeof event}). Invoke this function through fanout.`, {
      code: ErrorCode.PROTOCOL_ERROR,
      fault: 'caller',
    });
  }
  return fromJsonValue(event) as InvocationPayloadV1;
}

/** Length of the base64 text for `byteLength` bytes, padding included. */
export function base64Length(byteLength: number): number {
  return Math.ceil(byteLength / 3) * 4;
}

/** Largest number of bytes whose base64 text fits in `textLength` characters. */
export function bytesForBase64Length(textLength: number): number {
  return Math.floor(textLength / 4) * 3;
}

export function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(text: string): Uint8Array {
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function isSerializedBuffer(value: unknown): value is { type: 'Buffer'; data: number[] } {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data) &&
    Object.keys(value).length === 2
  );
}
