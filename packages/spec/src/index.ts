/**
 * `@fanout/spec`: the versioned contracts every fanout backend implements. This package is the
 * adapter author's manual: start with {@link AdapterPluginV1}, then {@link StorageBackendV1} and
 * {@link ComputeBackendV1}, and the job protocol types in `protocol.ts`.
 */
export { ErrorCode, errorFaults, defaultFaultOf, type ErrorFault } from './error-codes.js';
export { FanoutError, type FanoutErrorOptions } from './fanout-error.js';
export type * from './storage.js';
export type * from './compute.js';
export type * from './plugin.js';
export type * from './deployment.js';
export {
  PROTOCOL_VERSION,
  MAX_RECORD_BYTES,
  type InvocationInputsV1,
  type InvocationPayloadV1,
  type InvocationFailureV1,
  type ResultRecordV1,
  type SerializedErrorV1,
  type StorageRequestCounts,
  type TaskOutcomeV1,
} from './protocol.js';
export {
  computeDefaults,
  storageDefaults,
  resolveComputeCapabilities,
  resolveStorageCapabilities,
  payloadSizeOf,
  PAYLOAD_ENVELOPE_BYTES,
  type ResolvedComputeCapabilities,
  type ResolvedStorageCapabilities,
} from './defaults.js';
