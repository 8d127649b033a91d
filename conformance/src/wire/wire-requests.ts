/**
 * What the wire fault proxy knows of the protocols it stands in: which S3 or Lambda operation a
 * request is, from its method, path, query and headers alone, and the error answers the real
 * services give, byte for byte as the AWS SDKs parse them. S3 is addressed path-style
 * (`/bucket/key`, the `forcePathStyle` option), as emulators and S3-compatible stores are.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The service a request is for. */
export type WireService = 's3' | 'lambda';

/**
 * The kinds of request faults are selected by. `s3:create` is a PutObject with
 * `If-None-Match: *` (a conditional create: workers write result records this way), `s3:put`
 * every other upload (PutObject, multipart parts, their start and completion).
 */
export type WireRequestKind =
  | 's3:get'
  | 's3:head'
  | 's3:put'
  | 's3:create'
  | 's3:list'
  | 's3:delete'
  | 's3:other'
  | 'lambda:invoke-sync'
  | 'lambda:invoke-async'
  | 'lambda:other';

/** Every S3 request kind that reads or writes an object or a listing. */
export const S3_OBJECT_KINDS: readonly WireRequestKind[] = ['s3:get', 's3:head', 's3:put', 's3:create', 's3:list', 's3:delete'];
/** Both kinds of Lambda Invoke. */
export const LAMBDA_INVOKE_KINDS: readonly WireRequestKind[] = ['lambda:invoke-sync', 'lambda:invoke-async'];

/** The service a kind of request is for. */
export function serviceOfKind(kind: WireRequestKind): WireService {
  return kind.startsWith('lambda:') ? 'lambda' : 's3';
}

// Lambda's REST paths start with the API version. A bucket named like a date would be taken for
// Lambda; the buckets of tests are not.
const LAMBDA_PATH = /^\/\d{4}-\d{2}-\d{2}\//;
const LAMBDA_INVOKE_PATH = /^\/2015-03-31\/functions\/[^/]+\/invocations(?:\?|$)/;

/** The service and kind of a request, from what arrives before its body. */
export function classifyRequest(method: string, url: string, headers: IncomingHttpHeaders): { service: WireService; kind: WireRequestKind } {
  if (LAMBDA_PATH.test(url)) {
    if (!LAMBDA_INVOKE_PATH.test(url) || method !== 'POST') return { service: 'lambda', kind: 'lambda:other' };
    // RequestResponse is the default; Event is the asynchronous kind; DryRun runs nothing and counts as a synchronous call.
    return { service: 'lambda', kind: headerOf(headers, 'x-amz-invocation-type') === 'Event' ? 'lambda:invoke-async' : 'lambda:invoke-sync' };
  }
  return { service: 's3', kind: s3Kind(method, new URL(url, 'http://proxy'), headers) };
}

function s3Kind(method: string, url: URL, headers: IncomingHttpHeaders): WireRequestKind {
  // Path-style: `/bucket` (bucket operations: listing, DeleteObjects) or `/bucket/key...` (object operations).
  const onBucket = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '').split('/').length === 1;
  const query = url.searchParams;
  switch (method) {
    case 'GET':
      // ListObjectsV2 says `list-type=2`; other bucket reads (`?location`, `?versioning`...) are not listings.
      if (onBucket) return query.has('list-type') || query.size === 0 ? 's3:list' : 's3:other';
      return 's3:get';
    case 'HEAD':
      return onBucket ? 's3:other' : 's3:head';
    case 'PUT':
      if (onBucket) return 's3:other';
      return headerOf(headers, 'if-none-match') === '*' && !query.has('partNumber') ? 's3:create' : 's3:put';
    case 'POST':
      if (onBucket) return query.has('delete') ? 's3:delete' : 's3:other';
      // CreateMultipartUpload (`?uploads`) and CompleteMultipartUpload (`?uploadId=`).
      return query.has('uploads') || query.has('uploadId') ? 's3:put' : 's3:other';
    case 'DELETE':
      return onBucket ? 's3:other' : query.has('uploadId') ? 's3:put' : 's3:delete';
    default:
      return 's3:other';
  }
}

/** A header's value, the first one if it came several times. */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A complete HTTP answer the proxy sends instead of forwarding. */
export type WireAnswer = { status: number; headers: Record<string, string>; body: Buffer };

/** The two service errors injected: being told to slow down, and the service failing inside. */
export type ServiceErrorFault = 'throttle' | 'internal-error';

/**
 * The answer the service gives for `fault`, as it gives it:
 *
 * - S3, throttle: `503 SlowDown`; internal error: `500 InternalError`; each with S3's XML error
 *   document (no body for HEAD, which S3 answers with headers only, the SDK then naming the
 *   error from the status);
 * - Lambda, throttle: `429 TooManyRequestsException` with `Retry-After` (seconds), which the SDK
 *   reads into `retryAfterSeconds`; internal error: `500 ServiceException`; each with Lambda's
 *   JSON error body and `X-Amzn-ErrorType`.
 *
 * `x-fanout-injected` names the fault, so that a captured exchange shows it was not the service.
 */
export function serviceErrorAnswer(service: WireService, fault: ServiceErrorFault, request: { method: string; url: string }, retryAfterSeconds: number): WireAnswer {
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  if (service === 's3') {
    const [code, message, status] =
      fault === 'throttle' ? (['SlowDown', 'Please reduce your request rate.', 503] as const) : (['InternalError', 'We encountered an internal error. Please try again.', 500] as const);
    const resource = new URL(request.url, 'http://proxy').pathname;
    const body =
      request.method === 'HEAD'
        ? Buffer.alloc(0)
        : Buffer.from(
            `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId><HostId>${Buffer.from(requestId).toString('base64')}</HostId></Error>`,
          );
    return {
      status,
      headers: { 'Content-Type': 'application/xml', 'x-amz-request-id': requestId, 'x-amz-id-2': Buffer.from(requestId).toString('base64'), 'x-fanout-injected': fault },
      body,
    };
  }
  const [type, status, fields] =
    fault === 'throttle'
      ? (['TooManyRequestsException', 429, { Type: 'User', message: 'Rate Exceeded.', Reason: 'CallerRateLimitExceeded' }] as const)
      : (['ServiceException', 500, { Type: 'Service', Message: 'An error occurred and the request cannot be processed.' }] as const);
  return {
    status,
    headers: {
      'Content-Type': 'application/json',
      'X-Amzn-ErrorType': type,
      'x-amzn-RequestId': randomUUID(),
      ...(fault === 'throttle' ? { 'Retry-After': String(retryAfterSeconds) } : {}),
      'x-fanout-injected': fault,
    },
    body: Buffer.from(JSON.stringify(fields)),
  };
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
