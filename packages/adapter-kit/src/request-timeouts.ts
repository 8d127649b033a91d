import { describeValue, isIntegerBetween, optionError, type OptionsContext } from './options.js';

/**
 * The two timeouts that bound every request a cloud adapter makes, client and workers alike, so
 * that an endpoint that accepts connections and never answers becomes a retryable
 * `BACKEND_UNAVAILABLE` naming it, never a hang. Every cloud adapter takes them as
 * `connectTimeoutMs` and `responseTimeoutMs` options, with the same defaults and checks.
 */
export type RequestTimeouts = {
  /** Longest wait for a connection to open (DNS lookup included, and any wait for a free socket of the pool). */
  connectTimeoutMs: number;
  /**
   * Longest silence on the connection. `undefined` for requests that legitimately stay silent
   * for as long as they run: a synchronous invocation, which core's deadline aborts instead.
   */
  responseTimeoutMs?: number | undefined;
};

/**
 * Opening a connection to a cloud endpoint takes milliseconds, but a lost packet costs seconds:
 * glibc's resolver asks again for a lost DNS answer after 5 s, and the kernel resends a lost SYN
 * after 1 and 3 s. 10 s rides out one of each; a connection that takes longer is not a hiccup,
 * and the request is better failed and retried.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Object stores send the first byte of an answer within a fraction of a second, and give up
 * themselves on an upload whose client stays silent for about 20 s (S3's `RequestTimeout`); a
 * long S3 CompleteMultipartUpload sends whitespace meanwhile, and a platform answers an
 * asynchronous invocation as soon as it has queued it. 30 s of silence is far past any healthy
 * answer, and since only silence counts, it never cuts off a long transfer that keeps moving.
 */
export const DEFAULT_RESPONSE_TIMEOUT_MS = 30_000;

/** The longest either timeout may be: an hour of waiting is a mistake, not a setting. */
export const MAX_REQUEST_TIMEOUT_MS = 3_600_000;

/** The option names, for an adapter's list of known options. */
export const REQUEST_TIMEOUT_OPTIONS = ['connectTimeoutMs', 'responseTimeoutMs'] as const;

/** The timeouts in an adapter's options record, defaults applied; `CONFIG_INVALID` naming the option otherwise. */
export function parseRequestTimeouts(record: Record<string, unknown>, context: OptionsContext): { connectTimeoutMs: number; responseTimeoutMs: number } {
  const connectTimeoutMs = record.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!isIntegerBetween(connectTimeoutMs, 1, MAX_REQUEST_TIMEOUT_MS)) {
    throw optionError(
      context,
      'connectTimeoutMs',
      `must be a whole number of milliseconds from 1 to ${MAX_REQUEST_TIMEOUT_MS}, got ${describeValue(connectTimeoutMs)}. Leave it out for ${DEFAULT_CONNECT_TIMEOUT_MS}.`,
    );
  }
  const responseTimeoutMs = record.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS;
  if (!isIntegerBetween(responseTimeoutMs, 1, MAX_REQUEST_TIMEOUT_MS)) {
    throw optionError(
      context,
      'responseTimeoutMs',
      `must be a whole number of milliseconds from 1 to ${MAX_REQUEST_TIMEOUT_MS}, got ${describeValue(responseTimeoutMs)}. It counts only silence, so a long transfer needs no more; leave it out for ${DEFAULT_RESPONSE_TIMEOUT_MS}.`,
    );
  }
  return { connectTimeoutMs: connectTimeoutMs as number, responseTimeoutMs: responseTimeoutMs as number };
}

/** The timeouts settings given in code ask for, defaults applied; a `TypeError` for a bad one. */
export function requestTimeouts(settings: { connectTimeoutMs?: number | undefined; responseTimeoutMs?: number | undefined }): RequestTimeouts & { responseTimeoutMs: number } {
  const timeouts = {
    connectTimeoutMs: settings.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: settings.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS,
  };
  for (const [name, value] of Object.entries(timeouts)) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_REQUEST_TIMEOUT_MS) {
      throw new TypeError(`settings.${name} must be a whole number of milliseconds from 1 to ${MAX_REQUEST_TIMEOUT_MS}, got ${String(value)}.`);
    }
  }
  return timeouts;
}
