import { ErrorCode, FanoutError } from '@fanout/spec';

/** The `ABORTED` error an operation rejects with when its signal fires. */
export function abortError(signal: AbortSignal | undefined): FanoutError {
  return new FanoutError('The operation was aborted.', {
    code: ErrorCode.ABORTED,
    fault: 'caller',
    cause: signal?.reason,
  });
}

/** Throw `ABORTED` if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
