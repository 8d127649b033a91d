import { createHash, randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type InvocationPayloadV1 } from '@fanout/spec';
import { frame, serializeValue } from '@fanout/worker';

/**
 * The task bundle the compute groups run, as core's bundler would produce it: one self-contained
 * ES module. Written by hand so that the compute groups test a backend without core. Each export
 * is one behaviour under test.
 */
export const TASK_BUNDLE_SOURCE = `
export function square(value) { return value * value; }
export function squareUnlessText(value) {
  if (typeof value === 'string') throw new RangeError(value);
  return value * value;
}
export function exitProcess(code) { process.exit(code); }
export function exhaustMemory() { const hoard = []; for (;;) hoard.push({ value: Math.random(), list: [1, 2, 3] }); }
export function spinForever() { for (;;) {} }
export function sleep(milliseconds) { return new Promise((resolve) => setTimeout(() => resolve(milliseconds), milliseconds)); }
export function byteLength(bytes) { return bytes.byteLength; }
`;

/** The bundle's bytes, as stored under its code key. */
export const TASK_BUNDLE_BYTES: Uint8Array = new TextEncoder().encode(TASK_BUNDLE_SOURCE);
/** Lowercase hex SHA-256 of the bundle, which every payload names and the worker verifies. */
export const TASK_BUNDLE_SHA256: string = createHash('sha256').update(TASK_BUNDLE_BYTES).digest('hex');

/** The names the bundle exports. */
export type BundledTask =
  | 'square'
  | 'squareUnlessText'
  | 'exitProcess'
  | 'exhaustMemory'
  | 'spinForever'
  | 'sleep'
  | 'byteLength';

/** What a hand-built payload may vary. */
export type PayloadParameters = {
  codeKey: string;
  resultKey: string;
  task: BundledTask;
  /** Inline inputs, serialized and framed here; or where to read framed inputs from. */
  inputs: unknown[] | { key: string; start: number; end: number; count: number };
  respond?: boolean;
  timeoutMs?: number;
  attempt?: number;
  jobId?: string;
};

/** Framed inputs, as the payload carries them inline. */
export function framedInputs(values: readonly unknown[]): Uint8Array {
  return frame(values.map((value) => serializeValue(value)));
}

/** A payload as core would send it. */
export function buildPayload(parameters: PayloadParameters): InvocationPayloadV1 {
  const { inputs } = parameters;
  const inline = Array.isArray(inputs);
  return {
    protocol: PROTOCOL_VERSION,
    jobId: parameters.jobId ?? `conformance-${randomUUID()}`,
    attempt: parameters.attempt ?? 1,
    code: { key: parameters.codeKey, sha256: TASK_BUNDLE_SHA256, exportName: parameters.task },
    tasks: { first: 0, count: inline ? inputs.length : inputs.count },
    inputs: inline ? { inline: framedInputs(inputs) } : { key: inputs.key, start: inputs.start, end: inputs.end },
    resultKey: parameters.resultKey,
    respond: parameters.respond ?? true,
    timeoutMs: parameters.timeoutMs ?? 60_000,
  };
}

/** Framed inputs holding one `Uint8Array`, and that array's length (what the `byteLength` task returns). */
export type SizedFrame = { frame: Uint8Array; valueBytes: number };

/**
 * One framed input of exactly `length` bytes that deserializes to a `Uint8Array`: what a payload
 * of a precise size carries. `undefined` when no such frame exists (some lengths cannot be
 * reached where an encoded length grows a byte).
 */
export function frameOfLength(length: number): SizedFrame | undefined {
  // The serialization's overhead depends only on how many bytes the lengths take to encode, so it
  // is the same for every nearby size; measure it on a small array with the same encoded lengths.
  for (let guess = Math.max(0, length - 32); guess <= length; guess += 1) {
    const overhead = serializedOverhead(guess);
    if (guess + overhead + 4 === length) return { frame: framedInputs([new Uint8Array(guess)]), valueBytes: guess };
  }
  return undefined;
}

const overheads = new Map<number, number>();

function serializedOverhead(byteLength: number): number {
  // Encoded lengths are varints: compare with the smallest array whose length varint has the same size.
  const varintBytes = Math.max(1, Math.ceil(Math.log2(byteLength + 1) / 7));
  let overhead = overheads.get(varintBytes);
  if (overhead === undefined) {
    const sample = varintBytes === 1 ? 0 : 2 ** (7 * (varintBytes - 1));
    overhead = serializeValue(new Uint8Array(sample)).byteLength - sample;
    overheads.set(varintBytes, overhead);
  }
  return overhead;
}
