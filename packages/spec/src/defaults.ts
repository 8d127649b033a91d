import type { ComputeBackendV1, ComputeCapabilitiesV1, ComputePricesV1 } from './compute.js';
import type { InvocationPayloadV1 } from './protocol.js';
import type { StorageCapabilitiesV1, StoragePricesV1 } from './storage.js';

/**
 * Bytes a payload's envelope (everything but its inline inputs) is assumed to take when a
 * compute backend does not measure payloads itself with `payloadSize`.
 */
export const PAYLOAD_ENVELOPE_BYTES = 1024;

/** A payload's size on the wire: the backend's own measure, or inline bytes plus the envelope. */
export function payloadSizeOf(compute: ComputeBackendV1, payload: InvocationPayloadV1): number {
  if (compute.payloadSize) return compute.payloadSize(payload);
  return ('inline' in payload.inputs ? payload.inputs.inline.byteLength : 0) + PAYLOAD_ENVELOPE_BYTES;
}

/** Storage capabilities with every default filled in. */
export type ResolvedStorageCapabilities = Required<Omit<StorageCapabilitiesV1, 'prices'>> & {
  prices: StoragePricesV1 | undefined;
};

/** Compute capabilities with every default filled in. */
export type ResolvedComputeCapabilities = Required<Omit<ComputeCapabilitiesV1, 'maxPayloadBytes' | 'prices'>> & {
  maxPayloadBytes: Required<NonNullable<ComputeCapabilitiesV1['maxPayloadBytes']>>;
  prices: ComputePricesV1 | undefined;
};

/** The documented defaults for every storage capability a backend leaves out. */
export const storageDefaults: Readonly<ResolvedStorageCapabilities> = Object.freeze({
  conditionalCreate: false,
  listPageSize: 1000,
  maxObjectBytes: Number.MAX_SAFE_INTEGER,
  streaming: false,
  prices: undefined,
});

/** The documented defaults for every compute capability a backend leaves out. */
export const computeDefaults: Readonly<ResolvedComputeCapabilities> = Object.freeze({
  syncInvoke: false,
  asyncInvoke: true,
  maxPayloadBytes: Object.freeze({ sync: 256 * 1024, async: 256 * 1024 }),
  maxResponseBytes: 256 * 1024,
  maxTimeoutMs: 15 * 60 * 1000,
  maxMemoryMb: Number.POSITIVE_INFINITY,
  defaultConcurrency: 64,
  maxConcurrency: 1000,
  classifiesFailures: false,
  cancelsRunningInvocations: false,
  storedInputsAboveBytes: Number.POSITIVE_INFINITY,
  invocationsPerSlot: 4,
  prices: undefined,
});

/** Fill in the defaults for a storage backend's declared capabilities. */
export function resolveStorageCapabilities(declared: StorageCapabilitiesV1): ResolvedStorageCapabilities {
  return { ...storageDefaults, ...definedOnly(declared) };
}

/** Fill in the defaults for a compute backend's declared capabilities. */
export function resolveComputeCapabilities(declared: ComputeCapabilitiesV1): ResolvedComputeCapabilities {
  const { maxPayloadBytes, ...rest } = definedOnly(declared);
  return {
    ...computeDefaults,
    ...rest,
    maxPayloadBytes: { ...computeDefaults.maxPayloadBytes, ...definedOnly(maxPayloadBytes ?? {}) },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}
