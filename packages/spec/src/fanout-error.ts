import { defaultFaultOf, type ErrorCode, type ErrorFault } from './error-codes.js';

const marker = Symbol.for('fanout.error');

/** Details that travel with a {@link FanoutError}. */
export type FanoutErrorOptions = {
  /** Stable code from {@link ErrorCode}. */
  code: ErrorCode;
  /** Whether repeating the same operation may succeed. Default: `false`. */
  retryable?: boolean;
  /** Who is at fault. Default: the code's default fault, {@link defaultFaultOf} (the Fault column of `docs/errors.md`). */
  fault?: ErrorFault;
  /** The underlying error, if any. */
  cause?: unknown;
  /** For `THROTTLED`: how long the platform asked the caller to wait, in milliseconds. */
  retryAfterMs?: number;
  /** For errors about one task: the index of its input in the job. */
  taskIndex?: number;
  /** For `USER_CODE_ERROR`: the name of what the task threw, such as `TypeError`. */
  remoteName?: string;
  /** For `USER_CODE_ERROR`: the stack trace as the worker saw it. */
  remoteStack?: string;
  /** For errors from a worker: the last lines the task wrote to stdout and stderr. */
  logTail?: string;
};

/**
 * The one error class fanout throws for anything that is not a programmer mistake (those are
 * `TypeError`s). Match on {@link FanoutError.code}, never on the message.
 *
 * Use {@link FanoutError.isInstance} rather than `instanceof`: an application can end up with two
 * copies of this package (for example one bundled into an adapter), and `instanceof` fails across
 * copies while the `Symbol.for` marker does not.
 */
export class FanoutError extends Error {
  readonly [marker] = true;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly fault: ErrorFault;
  readonly retryAfterMs: number | undefined;
  readonly taskIndex: number | undefined;
  readonly remoteName: string | undefined;
  readonly remoteStack: string | undefined;
  readonly logTail: string | undefined;

  constructor(message: string, options: FanoutErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FanoutError';
    this.code = options.code;
    this.retryable = options.retryable ?? false;
    this.fault = options.fault ?? defaultFaultOf(options.code);
    this.retryAfterMs = options.retryAfterMs;
    this.taskIndex = options.taskIndex;
    this.remoteName = options.remoteName;
    this.remoteStack = options.remoteStack;
    this.logTail = options.logTail;
  }

  /** True for any `FanoutError`, from any copy of this package; optionally of one `code`. */
  static isInstance(value: unknown, code?: ErrorCode): value is FanoutError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[marker] === true &&
      (code === undefined || (value as FanoutError).code === code)
    );
  }
}
