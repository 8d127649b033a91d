/**
 * What travels between the Lambda compute backend and the runtime, both ends in one file: the
 * platform's size limits, and the runtime's response. Requests are the job protocol's payload
 * in JSON (`@fanout/adapter-kit`'s JSON payload codec).
 *
 * Limits are those of the Lambda quotas page (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
 * 6 MB for a synchronous request and for its response, and 256 KB for an asynchronous request.
 * AWS raised the asynchronous limit to 1 MB in October 2025; fanout declares 256 KB, which every
 * region and account accepts, so inputs between the two are read from S3 instead of inline
 * (one ranged GET per invocation).
 */
import { ErrorCode, FanoutError } from '@fanout/spec';
import type { TransportedWorkerError } from '@fanout/worker';
import { bytesForBase64Length } from '@fanout/adapter-kit';

/** Largest synchronous (RequestResponse) request body Lambda accepts: 6 MB, counted as 6 × 2^20 bytes. */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Largest asynchronous (Event) request body fanout sends: 256 KB (see the note above). */
export const LAMBDA_ASYNC_PAYLOAD_BYTES = 256 * 1024;

/** Largest synchronous response Lambda returns: 6 MB. */
export const LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024;

/** Room kept in a response for everything but the record's base64 text. */
const RESPONSE_ENVELOPE_BYTES = 1024;

/**
 * Largest encoded record the runtime returns in a synchronous response (about 4.5 MiB): the
 * response is JSON, so the record travels as base64, a third larger. Larger records are read
 * from S3 (the runtime wrote them there anyway).
 */
export const MAX_RESPONSE_RECORD_BYTES = bytesForBase64Length(LAMBDA_RESPONSE_BYTES - RESPONSE_ENVELOPE_BYTES);

/** Marks a response as the fanout runtime's, so another function's answer is not mistaken for one. */
export const RUNTIME_RESPONSE_VERSION = 1;

/** What the runtime's handler returns. Lambda serializes it as JSON. */
export type RuntimeResponse =
  /** The record, base64, when the payload asked for it and it fits. */
  | { fanout: typeof RUNTIME_RESPONSE_VERSION; record: string }
  /** The record is in storage only (asynchronous mode, or too large for the response). */
  | { fanout: typeof RUNTIME_RESPONSE_VERSION; stored: true }
  /** The invocation could not run (a task that throws is a record, not this). */
  | { fanout: typeof RUNTIME_RESPONSE_VERSION; error: TransportedWorkerError };

/** Parse a successful response body. Throws `PROTOCOL_ERROR` for anything the runtime would not send. */
export function parseRuntimeResponse(body: Uint8Array | undefined, functionName: string): RuntimeResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body ?? new Uint8Array(0)).toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const candidate = parsed as Partial<Record<'fanout' | 'record' | 'stored' | 'error', unknown>> | undefined;
  const valid =
    typeof candidate === 'object' &&
    candidate !== null &&
    candidate.fanout === RUNTIME_RESPONSE_VERSION &&
    (typeof candidate.record === 'string' ||
      candidate.stored === true ||
      (typeof candidate.error === 'object' && candidate.error !== null && typeof (candidate.error as { code?: unknown }).code === 'string'));
  if (!valid) {
    const preview = Buffer.from(body ?? new Uint8Array(0)).toString('utf8').slice(0, 200);
    throw new FanoutError(
      `The Lambda function ${functionName} answered with something that is not a fanout runtime response (${JSON.stringify(preview)}). Is compute.options.functionName the function \`fanout deploy\` created?`,
      { code: ErrorCode.PROTOCOL_ERROR, fault: 'caller' },
    );
  }
  return candidate as RuntimeResponse;
}
