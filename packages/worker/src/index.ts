/**
 * `@fanout/worker`: the one generic invocation handler every runtime wraps (a child process, a
 * Lambda handler, a Cloud Function), and the job protocol's codec shared with the client.
 */
export { Worker, type HandleOptions, type InvocationResult, type WorkerOptions } from './worker.js';
export { encodeRecord, decodeRecord, encodeInvocationFailure, decodeInvocationFailure } from './record-codec.js';
export { serializeValue, serializeValueToParts, deserializeValue, frame, framedSize, unframe } from './serialization.js';
export { CountingStorage, emptyRequestCounts, addRequestCounts, totalRequests } from './counting-storage.js';
export { captureLogs, LOG_TAIL_BYTES } from './log-capture.js';
export { transportWorkerError, rebuildWorkerError, type TransportedWorkerError } from './worker-failure.js';
export {
  WorkerProcess,
  classifyChildExit,
  timeoutError,
  spawnError,
  STDERR_TAIL_BYTES,
  START_ALLOWANCE_MS,
  MAX_TIMER_MS,
  type ChildExit,
  type WorkerProcessOptions,
  type WorkerProcessOutcome,
  type WorkerProcessRequest,
  type WorkerProcessReply,
} from './worker-process.js';
export { serveWorkerProcess, type OpenedWorker, type ServeWorkerProcessOptions } from './worker-process-child.js';
export {
  FunctionRuntime,
  RUNTIME_RESPONSE_VERSION,
  SUPERVISOR_RESERVE_MB,
  childHeapMb,
  maxResponseRecordBytes,
  parseRuntimeResponse,
  recordOfResponse,
  type FunctionRuntimeOptions,
  type RuntimeResponse,
} from './function-runtime.js';
