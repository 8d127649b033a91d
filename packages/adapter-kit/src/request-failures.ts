import { ErrorCode, FanoutError } from '@fanout/spec';
import type { RequestTimeouts } from './request-timeouts.js';

/**
 * One classification of a failed request to a cloud service, for every adapter: each SDK
 * reports a failure its own way (S3's `SlowDown`, a gaxios error with `code: 429`, a
 * RestError's `statusCode`), so an adapter reads its SDK's error into a {@link RequestFailure}
 * and this turns that into the same `FanoutError` codes, retryability and advice everywhere.
 */

/** Node's codes for a connection that failed below HTTP. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
]);

/** Of those, the ones that mean the endpoint cannot be reached at all, rather than a connection that broke. */
export const UNREACHABLE_ERROR_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** Which of the client's own request timeouts ended a request: no connection in time, or a connection gone silent. */
export type RequestTimeoutKind = 'connect' | 'silence';

/** A failed request as an adapter read it from its SDK's error. */
export type RequestFailure = {
  /** The SDK's error, kept as the cause. */
  cause: unknown;
  /** The service's error name, or the SDK's: `SlowDown`, `TooManyRequestsException`. */
  name: string;
  /** The service's message. */
  message: string;
  /** The HTTP status the service answered with, if it answered. */
  status?: number | undefined;
  /** Node's error code, for a failure below HTTP (`ECONNRESET`). */
  errno?: string | undefined;
  /**
   * What the service's own error name says, where the adapter recognises it. It counts beside
   * the status, in the order below: S3 answers `SlowDown` with 503, which by status alone would
   * be a transient error, not throttling.
   */
  kind?: 'throttled' | 'access' | 'too-large' | 'transient' | undefined;
  /** The service's `Retry-After`, in milliseconds. */
  retryAfterMs?: number | undefined;
  /** Set when one of the client's own timeouts ended the request. */
  timeout?: RequestTimeoutKind | undefined;
  /** Where the request went and the timeouts it had, when known. */
  site?: RequestSite | undefined;
  /** The SDK refused the request before sending it (bad arguments): not worth retrying. */
  clientSide?: boolean | undefined;
};

/** What a service's own error name can say about a failure (see {@link RequestFailure.kind}). */
export type FailureKind = NonNullable<RequestFailure['kind']>;

/** A service's error names of each kind, as its adapter knows them. */
export type FailureNames = Partial<Record<FailureKind, ReadonlySet<string>>>;

/** The order in which kinds are tried, as {@link requestFailureError} weighs them. */
const FAILURE_KINDS: readonly FailureKind[] = ['throttled', 'access', 'too-large', 'transient'];

/** The kind a service's error name stands for, among `names`, or `undefined` for a name of none. */
export function failureKindOf(name: string | undefined, names: FailureNames): FailureKind | undefined {
  return name === undefined ? undefined : FAILURE_KINDS.find((kind) => names[kind]?.has(name));
}

/** Where a request went, `host:port`, and how long its client let it wait. */
export type RequestSite = { endpoint: string; timeouts: RequestTimeouts };

/** What was being done, for messages and advice. */
export type RequestContext = {
  /** The provider, as "throttled by …" says it: `AWS`, `Google Cloud`. */
  provider: string;
  /** The service: `S3`, `Cloud Storage`. */
  service: string;
  /** The operation: `GetObject`, `invoke`. */
  operation: string;
  /** The object, bucket or function concerned. */
  target: string;
  /** Where the options that set this service's endpoint and timeouts live: `storage.options`. */
  optionsPath: string;
  /** What to check when access is denied: where credentials come from and where the permissions are listed. */
  accessAdvice: string;
};

/**
 * The `FanoutError` for a failed request. Throttling is `THROTTLED` with the service's
 * `Retry-After`; missing permissions or credentials `ACCESS_DENIED` with the adapter's advice; a
 * request too large `PAYLOAD_TOO_LARGE`; a request that timed out, 5xx and network failures
 * `BACKEND_UNAVAILABLE`, retryable, naming the endpoint; any other refusal `BACKEND_UNAVAILABLE`,
 * not retryable.
 *
 * A timed-out request is `BACKEND_UNAVAILABLE`, not `TIMEOUT`: the platform did not answer, which
 * says nothing about the tasks, and core retries it as a transient failure of the lane (and the
 * client's storage requests in place) rather than splitting the invocation's range as it does
 * for a task that may have overrun.
 */
export function requestFailureError(failure: RequestFailure, context: RequestContext): FanoutError {
  const { status, errno, kind, cause } = failure;
  const detail = `${failure.name}${status ? ` (HTTP ${status})` : ''}: ${failure.message}`;
  const where = `${context.service} ${context.operation} on ${context.target} failed`;

  if (kind === 'throttled' || status === 429) {
    return new FanoutError(`${where}: throttled by ${context.provider} (${detail}).`, {
      code: ErrorCode.THROTTLED,
      retryable: true,
      fault: 'backend',
      cause,
      ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
    });
  }
  if (kind === 'access' || status === 401 || status === 403) {
    return new FanoutError(`${where}: access denied (${detail}). ${context.accessAdvice}`, { code: ErrorCode.ACCESS_DENIED, fault: 'caller', cause });
  }
  if (kind === 'too-large' || status === 413) {
    return new FanoutError(`${where}: the request is larger than ${context.provider} accepts (${detail}).`, { code: ErrorCode.PAYLOAD_TOO_LARGE, fault: 'caller', cause });
  }
  if (failure.timeout !== undefined) {
    return new FanoutError(`${where}: ${timeoutMessage(failure.timeout, context, failure.site, detail)}`, {
      code: ErrorCode.BACKEND_UNAVAILABLE,
      retryable: true,
      fault: 'backend',
      cause,
    });
  }
  if (status === undefined && errno !== undefined && NETWORK_ERROR_CODES.has(errno) && failure.site !== undefined) {
    const advice = UNREACHABLE_ERROR_CODES.has(errno)
      ? ` Check that ${context.optionsPath}.endpoint (or the region) leads to an endpoint of ${context.service} that this machine can reach.`
      : '';
    return new FanoutError(`${where}: the connection to ${failure.site.endpoint} failed (${detail}).${advice}`, {
      code: ErrorCode.BACKEND_UNAVAILABLE,
      retryable: true,
      fault: 'backend',
      cause,
    });
  }
  const transient =
    kind === 'transient' ||
    (errno !== undefined && NETWORK_ERROR_CODES.has(errno)) ||
    (status !== undefined && status >= 500) ||
    // No status at all: the request never got an answer (a dropped connection, a DNS hiccup).
    (status === undefined && failure.clientSide !== true);
  return new FanoutError(`${where}: ${detail}`, {
    code: ErrorCode.BACKEND_UNAVAILABLE,
    retryable: transient,
    fault: transient ? 'backend' : 'caller',
    cause,
  });
}

/**
 * A `Retry-After` header in milliseconds: delay-seconds, or an HTTP date (RFC 9110 §10.2.3)
 * counted from `now`. Anything else is `undefined`.
 */
export function retryAfterMs(value: unknown, now = Date.now()): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.round(seconds * 1000) : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** An error's message, whatever was thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return String(error);
}

function timeoutMessage(kind: RequestTimeoutKind, context: RequestContext, site: RequestSite | undefined, detail: string): string {
  const { optionsPath: options, service } = context;
  const at = site?.endpoint ?? `the ${service} endpoint`;
  if (kind === 'connect') {
    const limit = site ? `within ${site.timeouts.connectTimeoutMs} ms (${options}.connectTimeoutMs; ${detail})` : `within ${options}.connectTimeoutMs (${detail})`;
    return `no connection to ${at} opened ${limit}. Check that ${options}.endpoint (or the region) leads to an endpoint of ${service} that this machine can reach: a firewall, a proxy or a missing route drops connections silently. Raise connectTimeoutMs only for a network that is merely slow.`;
  }
  const silence = site?.timeouts.responseTimeoutMs;
  const limit = silence !== undefined ? `for ${silence} ms (${options}.responseTimeoutMs; ${detail})` : `for longer than ${options}.responseTimeoutMs (${detail})`;
  return `the connection to ${at} went silent ${limit}. Check that ${options}.endpoint (or the region) leads to a working ${service} service, not another kind of server, and that no proxy or load balancer in between holds requests. Raise responseTimeoutMs only for a service that is merely slow to answer.`;
}
