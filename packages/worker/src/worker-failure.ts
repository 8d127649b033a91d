import { ErrorCode, FanoutError, type ErrorFault } from '@fanout/spec';

/**
 * A failure of a whole invocation (not of a task: a task's error is an outcome in the record) as
 * it travels from a runtime back to its compute backend: over IPC, in a function's response.
 */
export type TransportedWorkerError = {
  code: string;
  message: string;
  retryable?: boolean;
  fault?: ErrorFault;
  /** The name of what was thrown, such as `SyntaxError` for a bundle that fails to load. */
  name?: string;
  stack?: string;
  /** The last output of the process that failed (a crashed worker's stderr), for the user to read. */
  logTail?: string;
};

// The worker's own verdicts: a retry would be given the same payload or bundle and fail again.
const neverRetryable: ReadonlySet<string> = new Set([ErrorCode.PROTOCOL_ERROR, ErrorCode.CODE_INTEGRITY_FAILED]);
const knownCodes: ReadonlySet<string> = new Set(Object.values(ErrorCode));

/**
 * Describe an error `Worker.handle` rejected with, for the trip back. A `FanoutError` keeps its
 * code and verdict; anything else is the runtime itself failing, `WORKER_CRASHED` and retryable,
 * its message prefixed with `runtime` (such as "The Lambda runtime").
 */
export function transportWorkerError(error: unknown, runtime: string): TransportedWorkerError {
  if (FanoutError.isInstance(error)) {
    return {
      code: error.code,
      message: error.message,
      retryable: error.retryable,
      fault: error.fault,
      ...(error.remoteName ? { name: error.remoteName } : {}),
      ...(error.remoteStack ? { stack: error.remoteStack } : error.stack ? { stack: error.stack } : {}),
      ...(error.logTail ? { logTail: error.logTail } : {}),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    code: ErrorCode.WORKER_CRASHED,
    message: `${runtime} failed: ${message}`,
    retryable: true,
    fault: 'backend',
    ...(error instanceof Error && error.stack ? { stack: error.stack } : {}),
  };
}

/**
 * Rebuild a transported failure in the client. Storage failures keep their code and retry
 * verdict; protocol and integrity failures are never retryable; an unknown code becomes
 * `WORKER_CRASHED`, so callers only ever see documented codes. `where` is appended to the
 * message, such as "in Lambda function fanout-runtime".
 */
export function rebuildWorkerError(transported: TransportedWorkerError, where?: string): FanoutError {
  const known = knownCodes.has(transported.code);
  const code = (known ? transported.code : ErrorCode.WORKER_CRASHED) as ErrorCode;
  const retryable = neverRetryable.has(code) ? false : (transported.retryable ?? !known);
  const message = known ? transported.message : `${transported.message} (worker error code ${transported.code})`;
  return new FanoutError(where ? `${message} (${where})` : message, {
    code,
    retryable,
    // Without a fault of its own, the code's default fault (the spec's table).
    ...(transported.fault ? { fault: transported.fault } : {}),
    ...(transported.name ? { remoteName: transported.name } : {}),
    ...(transported.stack ? { remoteStack: transported.stack } : {}),
    ...(typeof transported.logTail === 'string' ? { logTail: transported.logTail } : {}),
  });
}
