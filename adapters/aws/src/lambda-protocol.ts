/**
 * Lambda's size limits on what travels between the compute backend and the runtime. Requests
 * are the job protocol's payload in JSON (`@fanout/adapter-kit`'s JSON payload codec); the
 * response is `@fanout/worker`'s `RuntimeResponse`.
 *
 * Limits are those of the Lambda quotas page (docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html):
 * 6 MB for a synchronous request and for its response, and 256 KB for an asynchronous request.
 * AWS raised the asynchronous limit to 1 MB in October 2025; fanout declares 256 KB, which every
 * region and account accepts, so inputs between the two are read from S3 instead of inline
 * (one ranged GET per invocation).
 */
import { maxResponseRecordBytes } from '@fanout/worker';

/** Largest synchronous (RequestResponse) request body Lambda accepts: 6 MB, counted as 6 × 2^20 bytes. */
export const LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Largest asynchronous (Event) request body fanout sends: 256 KB (see the note above). */
export const LAMBDA_ASYNC_PAYLOAD_BYTES = 256 * 1024;

/** Largest synchronous response Lambda returns: 6 MB. */
export const LAMBDA_RESPONSE_BYTES = 6 * 1024 * 1024;

/**
 * Largest encoded record the runtime returns in a synchronous response (about 4.5 MiB): the
 * response is JSON, so the record travels as base64, a third larger. Larger records are read
 * from S3 (the runtime wrote them there anyway).
 */
export const MAX_RESPONSE_RECORD_BYTES = maxResponseRecordBytes(LAMBDA_RESPONSE_BYTES);
