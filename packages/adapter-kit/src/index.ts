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
export { describeValue, isIntegerBetween, optionError, optionsRecord, type OptionsContext, type OptionsShape } from './options.js';
export { assertByteRange, decodeKeyCursor, encodeKeyCursor, listPageLimit } from './storage-arguments.js';
export { listAll } from './list-all.js';
