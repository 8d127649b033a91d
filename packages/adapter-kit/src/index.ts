/** `@fanout/adapter-kit`: small helpers every adapter needs, so that each one behaves the same. */
export { assertValidStorageKey, MAX_STORAGE_KEY_BYTES } from './storage-keys.js';
export { abortError, throwIfAborted } from './abort.js';
export { collectBytes } from './bytes.js';
export {
  BYTES_MARKER,
  toJsonValue,
  fromJsonValue,
  encodeJsonPayload,
  jsonPayloadSize,
  decodeJsonPayload,
  base64Length,
  bytesForBase64Length,
  base64,
  fromBase64,
} from './json-payload-codec.js';
export { DispatchThreadPool, serveComputeInThreads, type DispatchThreadPoolOptions } from './dispatch-threads.js';
export { describeValue, isHttpUrl, isIntegerBetween, optionError, optionsRecord, parseKeyPrefixOption, type OptionsContext, type OptionsShape } from './options.js';
export { assertByteRange, decodeKeyCursor, encodeKeyCursor, listPageLimit } from './storage-arguments.js';
export { listAll } from './list-all.js';
export { disposedError } from './disposed.js';
export { decodeTokenCursor, encodeTokenCursor } from './list-cursors.js';
export { deleteInBatches, type DeleteBatching } from './batched-delete.js';
export { ObjectStorageBase, emptyStream, type ObjectListPage, type ObjectStoreLocation } from './object-storage.js';
export {
  NETWORK_ERROR_CODES,
  UNREACHABLE_ERROR_CODES,
  failureKindOf,
  messageOf,
  requestFailureError,
  retryAfterMs,
  type FailureKind,
  type FailureNames,
  type RequestContext,
  type RequestFailure,
  type RequestSite,
  type RequestTimeoutKind,
} from './request-failures.js';
export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RESPONSE_TIMEOUT_MS,
  MAX_REQUEST_TIMEOUT_MS,
  REQUEST_TIMEOUT_OPTIONS,
  parseRequestTimeouts,
  requestTimeouts,
  type RequestTimeouts,
} from './request-timeouts.js';
export { carryOutPlan, publicPlan, type PlannedStep } from './deploy-steps.js';
