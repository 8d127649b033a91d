/**
 * Every error fanout raises carries one of these codes. Codes are API: they are stable across
 * major versions, documented in `docs/errors.md`, and the thing tests and callers should match
 * on. Messages are for humans and may change.
 *
 * Each entry says who is at fault by default (as {@link errorFaults} records it) and whether
 * retrying the same request can help.
 */
export const ErrorCode = {
  /** Configuration (code, file or `FANOUT_*` variables) failed validation. Fault: caller. */
  CONFIG_INVALID: 'CONFIG_INVALID',
  /** A configured backend name does not match any registered adapter plugin. Fault: caller. */
  ADAPTER_NOT_FOUND: 'ADAPTER_NOT_FOUND',
  /** An adapter declares a `specificationVersion` this core does not implement. Fault: caller. */
  SPECIFICATION_UNSUPPORTED: 'SPECIFICATION_UNSUPPORTED',
  /** The task module could not be bundled into one file (native addon, missing import). Fault: caller. */
  BUNDLE_FAILED: 'BUNDLE_FAILED',
  /** The task module does not export the requested name, or the function is not exported. Fault: caller. */
  EXPORT_NOT_FOUND: 'EXPORT_NOT_FOUND',
  /** An inline task function refers to variables outside itself. Fault: caller. */
  TASK_NOT_SELF_CONTAINED: 'TASK_NOT_SELF_CONTAINED',
  /** An input cannot be serialized (functions, symbols, class instances with private state). Fault: caller. */
  INPUT_NOT_SERIALIZABLE: 'INPUT_NOT_SERIALIZABLE',
  /** A task returned a value that cannot be serialized (structured clone refuses it). Fault: user-code. */
  RESULT_NOT_SERIALIZABLE: 'RESULT_NOT_SERIALIZABLE',
  /** A storage key is empty, absolute, contains `..` segments or other unsafe parts. Fault: caller. */
  STORAGE_KEY_INVALID: 'STORAGE_KEY_INVALID',
  /** An invocation payload, or an object to store, is larger than the backend accepts. Fault: caller. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** The user's task threw or rejected. Never retried unless the caller asks. Fault: user-code. */
  USER_CODE_ERROR: 'USER_CODE_ERROR',
  /**
   * An invocation ran past its deadline, or never reported. Retryable. Fault: backend, since
   * nothing tells a slow task from a lost invocation; a reporter that knows the task overran can
   * say `user-code`.
   */
  TIMEOUT: 'TIMEOUT',
  /**
   * An asynchronous invocation was accepted but never started: no start signal came within the
   * time this job's invocations take to start (see `startedKey` in the protocol). Core sends it
   * again. Retryable. Fault: backend.
   */
  INVOCATION_LOST: 'INVOCATION_LOST',
  /** The worker ran out of memory. Fault: user-code. */
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  /** The worker process exited or crashed before it reported (for example `process.exit`). Retryable. Fault: backend. */
  WORKER_CRASHED: 'WORKER_CRASHED',
  /** The platform refused work because of a rate or concurrency limit. Retryable after a delay. Fault: backend. */
  THROTTLED: 'THROTTLED',
  /** The platform failed in a way that may succeed on retry (5xx, reset connection). Retryable. Fault: backend. */
  BACKEND_UNAVAILABLE: 'BACKEND_UNAVAILABLE',
  /** The platform refused the credentials or permissions. Fault: caller. */
  ACCESS_DENIED: 'ACCESS_DENIED',
  /** The code bundle fetched by a worker does not match its SHA-256. Fault: backend. */
  CODE_INTEGRITY_FAILED: 'CODE_INTEGRITY_FAILED',
  /** A payload, record or stored object does not follow the job protocol. Fault: backend. */
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  /** No job with that id exists in the configured storage. Fault: caller. */
  JOB_NOT_FOUND: 'JOB_NOT_FOUND',
  /** The job was cancelled before the task finished. Fault: caller. */
  JOB_CANCELLED: 'JOB_CANCELLED',
  /** `wait` or `results` gave up after its `timeoutMs`; the job itself goes on. Fault: caller. */
  WAIT_TIMEOUT: 'WAIT_TIMEOUT',
  /**
   * The job's `budgetUsd` would have been passed: nothing more was dispatched, and the tasks that
   * had not finished fail with this code (finished results are kept). Not retried. Fault: caller.
   */
  BUDGET_EXCEEDED: 'BUDGET_EXCEEDED',
  /** The executor or backend was used after `dispose()`. Fault: caller. */
  DISPOSED: 'DISPOSED',
  /** An operation was aborted through its `AbortSignal`. Fault: caller. */
  ABORTED: 'ABORTED',
} as const;

/** One of the stable error codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Who is responsible for an error: the caller's input, the platform, or the user's task code. */
export type ErrorFault = 'caller' | 'backend' | 'user-code';

/**
 * The fault of each code when whoever raises it does not say otherwise; `docs/errors.md` shows
 * the same table, and a test holds the two together.
 */
export const errorFaults: Readonly<Record<ErrorCode, ErrorFault>> = Object.freeze({
  CONFIG_INVALID: 'caller',
  ADAPTER_NOT_FOUND: 'caller',
  SPECIFICATION_UNSUPPORTED: 'caller',
  BUNDLE_FAILED: 'caller',
  EXPORT_NOT_FOUND: 'caller',
  TASK_NOT_SELF_CONTAINED: 'caller',
  INPUT_NOT_SERIALIZABLE: 'caller',
  RESULT_NOT_SERIALIZABLE: 'user-code',
  STORAGE_KEY_INVALID: 'caller',
  PAYLOAD_TOO_LARGE: 'caller',
  USER_CODE_ERROR: 'user-code',
  TIMEOUT: 'backend',
  INVOCATION_LOST: 'backend',
  OUT_OF_MEMORY: 'user-code',
  WORKER_CRASHED: 'backend',
  THROTTLED: 'backend',
  BACKEND_UNAVAILABLE: 'backend',
  ACCESS_DENIED: 'caller',
  CODE_INTEGRITY_FAILED: 'backend',
  PROTOCOL_ERROR: 'backend',
  JOB_NOT_FOUND: 'caller',
  JOB_CANCELLED: 'caller',
  WAIT_TIMEOUT: 'caller',
  BUDGET_EXCEEDED: 'caller',
  DISPOSED: 'caller',
  ABORTED: 'caller',
} satisfies Record<ErrorCode, ErrorFault>);

/**
 * The default fault of `code`, from {@link errorFaults}. Codes also arrive in records written by
 * other versions of fanout, so a code this version does not know is blamed on the platform.
 */
export function defaultFaultOf(code: ErrorCode): ErrorFault {
  return Object.hasOwn(errorFaults, code) ? errorFaults[code] : 'backend';
}
