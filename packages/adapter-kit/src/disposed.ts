import { ErrorCode, FanoutError } from '@fanout/spec';

/** The error for any call after `dispose()`, naming what was disposed (`S3 storage`, `local compute`). */
export function disposedError(what: string): FanoutError {
  return new FanoutError(`The ${what} was used after dispose(). Create a new one.`, { code: ErrorCode.DISPOSED, fault: 'caller' });
}
