/**
 * Every mapping of Google Cloud client failures to fanout error codes, in one place. The
 * clients report a failure three ways: an `ApiError` of `@google-cloud/storage` (the HTTP
 * status as a number in `code`, Google's `errors[].reason`, the response with its headers), a
 * `GaxiosError` from its resumable uploads (`status`, `response`), and a node-fetch
 * `FetchError` for a request that got no answer (`code` is Node's `ECONNREFUSED`, `type` is
 * `request-timeout` when the client's timer fired). Each is read into adapter-kit's
 * `RequestFailure`, which classifies it as every adapter does.
 */
import { abortError, failureKindOf, messageOf, requestFailureError, retryAfterMs, type RequestSite } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError } from '@fanout/spec';

/** What was being done, for messages. */
export type GcpFailureContext = {
  /** `Cloud Storage`. */
  service: string;
  /** The JSON API method, such as `objects.get`. */
  operation: string;
  /** The object or bucket concerned, `gs://bucket/name`. */
  target: string;
  signal?: AbortSignal | undefined;
  /** Where requests go and their timeouts. */
  site?: RequestSite | undefined;
};

// Google's `errors[].reason` values (cloud.google.com/storage/docs/json_api/v1/status-codes).
const throttlingReasons: ReadonlySet<string> = new Set(['rateLimitExceeded', 'userRateLimitExceeded', 'quotaExceeded', 'tooManyRequests']);
const accessReasons: ReadonlySet<string> = new Set(['forbidden', 'insufficientPermissions', 'accessNotConfigured', 'authError', 'required', 'unauthorized', 'accountDisabled']);
const transientReasons: ReadonlySet<string> = new Set(['backendError', 'internalError', 'serviceUnavailable']);

/**
 * The HTTP status the service refused the request with, if it did. An answer that began well
 * (200) and then broke or went silent is no refusal: it is reported as no status at all.
 */
export function gcpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, status, response } = error as { code?: unknown; status?: unknown; response?: { status?: unknown; statusCode?: unknown } };
  const candidate = typeof code === 'number' ? code : (status ?? response?.status ?? response?.statusCode);
  return typeof candidate === 'number' && candidate >= 400 && candidate < 600 ? candidate : undefined;
}

/** Google's reason for the failure (`notFound`, `conditionNotMet`), if it gave one. */
export function gcpReason(error: unknown): string | undefined {
  const errors = (error as { errors?: Array<{ reason?: unknown }> } | null)?.errors;
  const reason = Array.isArray(errors) ? errors[0]?.reason : undefined;
  return typeof reason === 'string' ? reason : undefined;
}

/** Whether the object (or bucket) does not exist. */
export function isNotFound(error: unknown): boolean {
  return gcpStatus(error) === 404;
}

/** Whether a precondition (`ifGenerationMatch`) did not hold: the conditional write lost. */
export function isPreconditionFailed(error: unknown): boolean {
  return gcpStatus(error) === 412;
}

/** Whether a ranged read started at or past the end of the object. */
export function isInvalidRange(error: unknown): boolean {
  return gcpStatus(error) === 416;
}

/** Whether a 404 is about the bucket rather than the object. */
export function isBucketMissing(error: unknown): boolean {
  return isNotFound(error) && /bucket does not exist/i.test(messageOf(error));
}

/**
 * Turn any failure of a Google Cloud client call into a `FanoutError`. Errors that already are
 * one pass through. A missing bucket is `CONFIG_INVALID`; everything else is classified by
 * adapter-kit's `requestFailureError`.
 */
export function mapGcpError(error: unknown, context: GcpFailureContext): FanoutError {
  if (FanoutError.isInstance(error)) return error;
  if (context.signal?.aborted || (error as { name?: unknown } | null)?.name === 'AbortError') return abortError(context.signal);
  const status = gcpStatus(error);
  const reason = gcpReason(error);
  const where = `${context.service} ${context.operation} on ${context.target} failed`;
  if (isBucketMissing(error)) {
    return new FanoutError(
      `${where}: the bucket does not exist (HTTP 404: ${messageOf(error)}). Create it (\`gcloud storage buckets create gs://<bucket> --location=<region>\`), or fix storage.options.bucket.`,
      { code: ErrorCode.CONFIG_INVALID, fault: 'caller', cause: error },
    );
  }
  const code = (error as { code?: unknown } | null)?.code;
  const errno = typeof code === 'string' && /^E[A-Z_]+$/.test(code) ? code : undefined;
  // node-fetch's timer fired before the answer's headers (`request-timeout`) or while its body
  // was read (`body-timeout`); `SilenceTimeout` is this adapter's own watch on a download.
  const type = (error as { type?: unknown } | null)?.type;
  const timedOut = type === 'request-timeout' || type === 'body-timeout' || code === 'ETIMEDOUT' || (error as { name?: unknown } | null)?.name === 'SilenceTimeout';
  return requestFailureError(
    {
      cause: error,
      name: reason ?? (error as { name?: string } | null)?.name ?? 'Error',
      message: messageOf(error),
      status,
      errno,
      kind: failureKindOf(reason, { throttled: throttlingReasons, access: accessReasons, transient: transientReasons }),
      retryAfterMs: retryAfterMs(headerOf(error, 'retry-after')),
      timeout: timedOut ? 'silence' : undefined,
      site: context.site,
    },
    {
      provider: 'Google Cloud',
      service: context.service,
      operation: context.operation,
      target: context.target,
      optionsPath: 'storage.options',
      accessAdvice:
        'Check that Application Default Credentials are available (`gcloud auth application-default login`, GOOGLE_APPLICATION_CREDENTIALS, or the service account of the machine) and that they hold a role allowing this on the bucket (roles/storage.objectUser); the adapter README lists the roles fanout needs.',
    },
  );
}

/** A response header of the failure, whichever client made it. */
function headerOf(error: unknown, name: string): unknown {
  const headers = (error as { response?: { headers?: unknown } } | null)?.response?.headers;
  if (headers && typeof (headers as { get?: unknown }).get === 'function') return (headers as { get(name: string): unknown }).get(name);
  return (headers as Record<string, unknown> | undefined)?.[name];
}
