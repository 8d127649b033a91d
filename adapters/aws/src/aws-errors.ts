/**
 * Every mapping of AWS SDK failures, Lambda function errors and runtime failures to fanout error
 * codes, in one place, so that S3, Lambda, IAM and the runtime classify one failure one way.
 */
import { abortError, failureKindOf, messageOf, requestFailureError, retryAfterMs, type RequestSite, type RequestTimeoutKind } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { requestSiteOf } from './aws-clients.js';

/** What was being done, for messages. */
export type AwsFailureContext = {
  /** `S3`, `Lambda` or `IAM`. */
  service: string;
  /** The SDK operation or a description, such as `GetObject` or `invoke`. */
  operation: string;
  /** The key, bucket, function or role concerned. */
  target: string;
  signal?: AbortSignal | undefined;
  /**
   * Where the request went, for a failure the SDK's middleware did not see (a streamed body's);
   * otherwise read from the error, see `recordRequestSites`.
   */
  site?: RequestSite | undefined;
};

// Error names the services use for "you are sending too fast".
const throttlingNames: ReadonlySet<string> = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'SlowDown',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'EC2ThrottledException',
  'TooManyRequests',
]);

// Credentials missing, wrong, expired, or not allowed to do this.
const accessNames: ReadonlySet<string> = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'Forbidden',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'InvalidSignatureException',
  'ExpiredToken',
  'ExpiredTokenException',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
  'AccountProblem',
  'KMSAccessDeniedException',
  'EC2AccessDeniedException',
  'NotAuthorized',
]);

// Failures that may pass: the service or the network had a bad moment, or a resource is settling.
const transientNames: ReadonlySet<string> = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ResourceConflictException',
  'ResourceNotReadyException',
  'OperationAborted',
  'EC2UnexpectedException',
  'ENINotReadyException',
  'EFSIOException',
  'EFSMountConnectivityException',
  'EFSMountTimeoutException',
  'SnapStartNotReadyException',
  'SnapStartTimeoutException',
  'KMSInvalidStateException',
  'ConcurrentModification',
  'ConcurrentModificationException',
]);

// Names that mean "the request is larger than the service takes".
const tooLargeNames: ReadonlySet<string> = new Set(['RequestTooLargeException', 'SerializedRequestEntityTooLargeException', 'EntityTooLarge']);

// Names that mean "this thing does not exist".
const notFoundNames: ReadonlySet<string> = new Set([
  'NoSuchKey',
  'NotFound',
  'NoSuchBucket',
  'NoSuchEntity',
  'NoSuchEntityException',
  'ResourceNotFoundException',
  'NoSuchLifecycleConfiguration',
  'NoSuchTagSet',
  'NoSuchTagSetError',
]);

/** The service's error name (`NoSuchKey`, `TooManyRequestsException`...), or a Node error code. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, Code, code } = error as { name?: unknown; Code?: unknown; code?: unknown };
  if (typeof Code === 'string' && Code !== '') return Code;
  if (typeof name === 'string' && name !== '' && name !== 'Error' && name !== 'UnknownError') return name;
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : undefined;
}

/** The HTTP status the service answered with, if it answered. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { $metadata, $response } = error as { $metadata?: { httpStatusCode?: unknown }; $response?: { statusCode?: unknown } };
  const status = $metadata?.httpStatusCode ?? $response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Whether the error says the object, bucket, role or function does not exist. */
export function isNotFound(error: unknown): boolean {
  const name = awsErrorName(error);
  return (name !== undefined && notFoundNames.has(name)) || httpStatus(error) === 404;
}

/**
 * Whether a conditional write lost: `412 PreconditionFailed` (the key exists), or `409
 * ConditionalRequestConflict` (another conditional write to the key is in flight, and will win
 * or fail on its own).
 */
export function isConditionalWriteLost(error: unknown): boolean {
  const name = awsErrorName(error);
  const status = httpStatus(error);
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || status === 412 || (status === 409 && name !== 'BucketAlreadyExists');
}

/** Whether the error means the range asked for starts at or past the end of the object. */
export function isInvalidRange(error: unknown): boolean {
  return awsErrorName(error) === 'InvalidRange' || httpStatus(error) === 416;
}

/** Whether an aborted signal or the SDK's abort caused the failure. */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || awsErrorName(error) === 'AbortError';
}

/**
 * Whether the request failed because a connection did not open in time (`connect`) or went
 * silent for too long (`silence`). smithy's handler names both `TimeoutError`, and gives that
 * name to reset and broken connections as well (`ECONNRESET`, `EPIPE`), which are not timeouts;
 * the kernel's own connect timeout is `ETIMEDOUT` from `connect`.
 */
export function requestTimeoutKind(error: unknown): RequestTimeoutKind | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, code, syscall } = error as { name?: unknown; code?: unknown; syscall?: unknown };
  if (code === 'ETIMEDOUT' && syscall === 'connect') return 'connect';
  if (name !== 'TimeoutError' || code === 'ECONNRESET' || code === 'EPIPE') return undefined;
  return /establish a connection/.test(messageOf(error)) ? 'connect' : 'silence';
}

// Where the options that set a service's timeouts and endpoint live in configuration.
const optionsPathOf = (service: string) => (service === 'S3' ? 'storage.options' : 'compute.options');

/**
 * Turn any failure of an SDK call into a `FanoutError`. Errors that already are one pass
 * through. A missing bucket or function is `CONFIG_INVALID` (the configuration names something
 * that is not there; `fanout deploy` creates it), as is a missing region; everything else is
 * classified by adapter-kit's `requestFailureError`, from the service's error name where AWS
 * has one for the case (throttling, access, size, transient) and from the HTTP status otherwise.
 */
export function mapAwsError(error: unknown, context: AwsFailureContext): FanoutError {
  if (FanoutError.isInstance(error)) return error;
  if (isAbort(error, context.signal)) return abortError(context.signal);
  const name = awsErrorName(error) ?? 'Error';
  const status = httpStatus(error);
  const detail = `${name}${status ? ` (HTTP ${status})` : ''}: ${messageOf(error)}`;
  const where = `${context.service} ${context.operation} on ${context.target} failed`;

  if (name === 'NoSuchBucket') {
    return new FanoutError(`${where}: the bucket does not exist (${detail}). Run \`fanout deploy\` to create it, or fix storage.options.bucket and region.`, {
      code: ErrorCode.CONFIG_INVALID,
      fault: 'caller',
      cause: error,
    });
  }
  if (context.service === 'Lambda' && name === 'ResourceNotFoundException') {
    return new FanoutError(
      `${where}: the function does not exist in this region (${detail}). Run \`fanout deploy\` to create it, or fix compute.options.functionName and region.`,
      { code: ErrorCode.CONFIG_INVALID, fault: 'caller', cause: error },
    );
  }
  if (isRegionMissing(error)) {
    return new FanoutError(`${where}: no AWS region is configured. Set the options' region, or AWS_REGION, or a region in your ~/.aws/config profile.`, {
      code: ErrorCode.CONFIG_INVALID,
      fault: 'caller',
      cause: error,
    });
  }
  const errno = (error as { code?: unknown } | null)?.code;
  return requestFailureError(
    {
      cause: error,
      name,
      message: messageOf(error),
      status,
      errno: typeof errno === 'string' ? errno : undefined,
      kind: failureKindOf(name, { throttled: throttlingNames, access: accessNames, 'too-large': tooLargeNames, transient: transientNames }),
      retryAfterMs: retryAfterMsOf(error),
      timeout: requestTimeoutKind(error),
      site: context.site ?? requestSiteOf(error),
      clientSide: (error as { $fault?: unknown } | null)?.$fault === 'client',
    },
    {
      provider: 'AWS',
      service: context.service,
      operation: context.operation,
      target: context.target,
      optionsPath: optionsPathOf(context.service),
      accessAdvice: `Check that credentials are available (AWS_PROFILE, AWS_ACCESS_KEY_ID, or the options' profile) and that they allow ${context.service} ${context.operation}; the README lists the permissions fanout needs.`,
    },
  );
}

/** Run one SDK call (or waiter), mapping its failure with {@link mapAwsError}. */
export async function withAwsErrors<T>(context: AwsFailureContext, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw mapAwsError(error, context);
  }
}

/** `Retry-After` in milliseconds: Lambda models it as `retryAfterSeconds`, other services send the header. */
export function retryAfterMsOf(error: unknown): number | undefined {
  const record = error as { retryAfterSeconds?: unknown; $response?: { headers?: Record<string, unknown> } } | null;
  return retryAfterMs(record?.retryAfterSeconds ?? record?.$response?.headers?.['retry-after']);
}

function isRegionMissing(error: unknown): boolean {
  return /region is missing|Region is missing/i.test(messageOf(error));
}

/** The JSON body Lambda returns with `X-Amz-Function-Error`. */
export type LambdaFunctionErrorBody = {
  errorType?: string;
  errorMessage?: string;
  trace?: string[];
};

/** A sync invocation that Lambda reports as failed, as the compute backend saw it. */
export type FunctionFailure = {
  functionName: string;
  /** The body, parsed when it is JSON. */
  body: LambdaFunctionErrorBody;
  /** The decoded `X-Amz-Log-Result`: the last 4 KB of the function's log, when asked for. */
  logTail: string | undefined;
};

const timeoutPattern = /Task timed out after ([\d.]+) seconds/;
const heapPattern = /heap out of memory|Allocation failed|Reached heap limit/;
const reportPattern = /Memory Size: (\d+) MB\s+Max Memory Used: (\d+) MB/;

/**
 * Classify a function error (`X-Amz-Function-Error`). The runtime returns every failure of the
 * worker in its response, its supervised worker process's crashes included, so what arrives here
 * escaped it: Lambda killed the invocation at the function's timeout, the environment as a whole
 * ran out of memory, or the deployed code is not a working runtime.
 */
export function classifyFunctionError(failure: FunctionFailure): FanoutError {
  const { body, logTail, functionName } = failure;
  const errorType = body.errorType ?? 'Unknown';
  const errorMessage = body.errorMessage ?? '';
  const logs = logTail ?? '';
  const tail = logTail === undefined || logTail === '' ? {} : { logTail };
  const report = reportPattern.exec(logs);
  const memorySize = report ? Number(report[1]) : undefined;
  const memoryUsed = report ? Number(report[2]) : undefined;

  const timedOut = timeoutPattern.exec(errorMessage);
  if (errorType === 'Sandbox.Timedout' || timedOut) {
    return new FanoutError(
      `The invocation ran into the function's timeout${timedOut ? ` of ${timedOut[1]} s` : ''} and Lambda stopped it. Raise compute.options.timeoutSeconds (then \`fanout deploy\`), or give each invocation less work.`,
      { code: ErrorCode.TIMEOUT, retryable: true, fault: 'user-code', ...tail },
    );
  }
  const memoryFull = memorySize !== undefined && memoryUsed !== undefined && memoryUsed >= memorySize;
  if (errorType === 'Runtime.OutOfMemory' || /signal: killed/.test(errorMessage) || heapPattern.test(logs) || memoryFull) {
    const usage = memorySize !== undefined ? ` (used ${memoryUsed} of ${memorySize} MB)` : '';
    return new FanoutError(
      `The function ${functionName} ran out of memory${usage}: ${errorType}: ${errorMessage}. Raise compute.options.memoryMb (then \`fanout deploy\`), or make the task use less memory.`,
      { code: ErrorCode.OUT_OF_MEMORY, retryable: false, fault: 'user-code', ...tail },
    );
  }
  if (/^Runtime\.(ImportModuleError|HandlerNotFound|UserCodeSyntaxError|MalformedHandlerName|InvalidEntrypoint|InvalidWorkingDirectory)$/.test(errorType)) {
    return new FanoutError(
      `The function ${functionName} is not a working fanout runtime (${errorType}: ${errorMessage}). Run \`fanout deploy\` to install it, or check compute.options.functionName.`,
      { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: false, fault: 'caller', ...tail },
    );
  }
  if (errorType.startsWith('Runtime.') || errorType === 'Unknown') {
    return new FanoutError(
      `The function ${functionName}'s process ended before it reported (${errorType}: ${errorMessage}); does the task call process.exit?`,
      { code: ErrorCode.WORKER_CRASHED, retryable: true, fault: 'backend', ...tail },
    );
  }
  // An error the runtime did not catch: thrown by the task's code outside its call, which ends the process.
  const stack = body.trace?.join('\n');
  return new FanoutError(
    `The task's code threw ${errorType} outside the task's own call (in a timer or an unawaited promise), which ended the function's process: ${errorMessage}`,
    {
      code: ErrorCode.WORKER_CRASHED,
      retryable: true,
      fault: 'user-code',
      remoteName: errorType,
      ...(stack ? { remoteStack: stack } : {}),
      ...tail,
    },
  );
}
