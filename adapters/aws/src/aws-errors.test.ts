import { FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { serviceError } from '../test/recorded-responses.js';
import { classifyFunctionError, mapAwsError, requestTimeoutKind } from './aws-errors.js';

const context = { service: 'Lambda', operation: 'Invoke', target: 'fanout-runtime' };
const report = (size: number, used: number) =>
  `END RequestId: r\nREPORT RequestId: r\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: ${size} MB\tMax Memory Used: ${used} MB\n`;

describe('SDK error mapping', () => {
  it('maps throttling to THROTTLED with the Retry-After Lambda models as retryAfterSeconds', () => {
    const error = mapAwsError(serviceError('TooManyRequestsException', 429, 'Rate Exceeded.', { retryAfterSeconds: '2', Reason: 'ConcurrentInvocationLimitExceeded' }), context);
    expect(error).toMatchObject({ code: 'THROTTLED', retryable: true, retryAfterMs: 2000 });
    const slowDown = mapAwsError(serviceError('SlowDown', 503, 'Please reduce your request rate.', { $response: { headers: { 'retry-after': '1' } } }), context);
    expect(slowDown).toMatchObject({ code: 'THROTTLED', retryAfterMs: 1000 });
  });

  it('maps refused credentials and permissions to ACCESS_DENIED, the caller to fix', () => {
    for (const name of ['AccessDeniedException', 'UnrecognizedClientException', 'ExpiredTokenException', 'InvalidSignatureException', 'CredentialsProviderError']) {
      expect(mapAwsError(serviceError(name, name === 'CredentialsProviderError' ? 0 : 403), context)).toMatchObject({ code: 'ACCESS_DENIED', fault: 'caller', retryable: false });
    }
  });

  it('maps 5xx, settling resources and dropped connections to retryable BACKEND_UNAVAILABLE, other refusals to non-retryable', () => {
    for (const cause of [serviceError('ServiceException', 500), serviceError('ResourceConflictException', 409), serviceError('ResourceNotReadyException', 502), Object.assign(new Error('reset'), { code: 'ECONNRESET' })]) {
      expect(mapAwsError(cause, context)).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
    }
    expect(mapAwsError(serviceError('InvalidParameterValueException', 400), context)).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: false, fault: 'caller' });
  });

  it('names the fix for a missing function or bucket, and for an oversized request', () => {
    expect(mapAwsError(serviceError('ResourceNotFoundException', 404), context)).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(mapAwsError(serviceError('NoSuchBucket', 404), { ...context, service: 'S3' }).message).toContain('storage.options.bucket');
    expect(mapAwsError(serviceError('RequestTooLargeException', 413), context).code).toBe('PAYLOAD_TOO_LARGE');
    expect(mapAwsError(new Error('Region is missing'), context).code).toBe('CONFIG_INVALID');
  });

  it('maps an aborted request to ABORTED and passes FanoutErrors through', () => {
    const controller = new AbortController();
    controller.abort();
    expect(mapAwsError(Object.assign(new Error('aborted'), { name: 'AbortError' }), { ...context, signal: controller.signal }).code).toBe('ABORTED');
    const original = new FanoutError('x', { code: 'DISPOSED' });
    expect(mapAwsError(original, context)).toBe(original);
  });
});

describe('request timeouts and network failures', () => {
  // Errors as @smithy/node-http-handler 4.x raises them.
  const connectTimeout = () =>
    Object.assign(new Error('@smithy/node-http-handler - the request socket did not establish a connection with the server within the configured timeout of 300 ms.'), { name: 'TimeoutError' });
  const silence = () =>
    Object.assign(new Error('@smithy/node-http-handler - the request socket timed out after 400 ms of inactivity (configured by client requestHandler).'), { name: 'TimeoutError' });
  // smithy renames a reset connection TimeoutError too, keeping its code.
  const reset = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' });
  const s3 = { service: 'S3', operation: 'GetObject', target: 's3://b/k', site: { endpoint: 'minio.internal:9000', timeouts: { connectTimeoutMs: 300, responseTimeoutMs: 400 } } };

  it("tells the client's two timeouts from each other and from broken connections", () => {
    expect(requestTimeoutKind(connectTimeout())).toBe('connect');
    expect(requestTimeoutKind(Object.assign(new Error('connect ETIMEDOUT 10.0.0.1:443'), { code: 'ETIMEDOUT', syscall: 'connect' }))).toBe('connect');
    expect(requestTimeoutKind(silence())).toBe('silence');
    expect(requestTimeoutKind(reset())).toBeUndefined();
    expect(requestTimeoutKind(serviceError('RequestTimeout', 400))).toBeUndefined();
  });

  it('maps a timed-out request to retryable BACKEND_UNAVAILABLE naming the endpoint, the operation, the limit and its option', () => {
    const connect = mapAwsError(connectTimeout(), s3);
    expect(connect).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true, fault: 'backend' });
    expect(connect.message).toMatch(/^S3 GetObject on s3:\/\/b\/k failed: no connection to minio\.internal:9000 opened within 300 ms \(storage\.options\.connectTimeoutMs; TimeoutError: /);
    expect(connect.message).toContain('Check that storage.options.endpoint');
    const silent = mapAwsError(silence(), { ...context, site: { endpoint: 'lambda.eu-west-1.amazonaws.com:443', timeouts: { connectTimeoutMs: 300, responseTimeoutMs: 400 } } });
    expect(silent).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true, fault: 'backend' });
    expect(silent.message).toContain('Lambda Invoke on fanout-runtime failed: the connection to lambda.eu-west-1.amazonaws.com:443 went silent for 400 ms (compute.options.responseTimeoutMs; TimeoutError: ');
  });

  it('names the option even when it does not know where the request went', () => {
    const { site: _site, ...unknownSite } = s3;
    expect(mapAwsError(silence(), unknownSite).message).toContain('the connection to the S3 endpoint went silent for longer than storage.options.responseTimeoutMs (TimeoutError: ');
  });

  it('names the endpoint of a refused or reset connection, with advice only where it is unreachable', () => {
    const refused = mapAwsError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' }), s3);
    expect(refused).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
    expect(refused.message).toContain('the connection to minio.internal:9000 failed');
    expect(refused.message).toContain('Check that storage.options.endpoint');
    const broken = mapAwsError(reset(), s3);
    expect(broken).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: true });
    expect(broken.message).toContain('the connection to minio.internal:9000 failed (TimeoutError: socket hang up).');
    expect(broken.message).not.toContain('Check that');
  });
});

describe('Lambda function error classification', () => {
  const classify = (errorType: string | undefined, errorMessage: string, logTail?: string) =>
    classifyFunctionError({ functionName: 'fanout-runtime', body: { ...(errorType ? { errorType } : {}), errorMessage }, logTail });

  it('recognises the function timeout in both of the formats Lambda has used', () => {
    expect(classify('Sandbox.Timedout', 'RequestId: r Error: Task timed out after 3.00 seconds')).toMatchObject({ code: 'TIMEOUT', retryable: true });
    expect(classify(undefined, '2019-01-01T00:00:00.000Z r Task timed out after 900.10 seconds').message).toContain('900.10 s');
  });

  it('recognises running out of memory from the error type, a kill, the heap message or the REPORT line', () => {
    expect(classify('Runtime.OutOfMemory', 'RequestId: r Error: Runtime exited with error: signal: killed').code).toBe('OUT_OF_MEMORY');
    expect(classify('Runtime.ExitError', 'RequestId: r Error: Runtime exited with error: signal: killed').code).toBe('OUT_OF_MEMORY');
    expect(classify('Runtime.ExitError', 'Runtime exited with error: signal: aborted (core dumped)', 'FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory').code).toBe('OUT_OF_MEMORY');
    const full = classify('Runtime.ExitError', 'Runtime exited with error: exit status 1', report(512, 512));
    expect(full).toMatchObject({ code: 'OUT_OF_MEMORY', retryable: false });
    expect(full.message).toContain('used 512 of 512 MB');
  });

  it('tells a process that exited from a deployment that is broken and from user code that threw outside its call', () => {
    expect(classify('Runtime.ExitError', 'Runtime exited with error: exit status 3', report(1024, 90))).toMatchObject({ code: 'WORKER_CRASHED', retryable: true, fault: 'backend' });
    expect(classify('Runtime.ImportModuleError', "Error: Cannot find module 'index'")).toMatchObject({ code: 'BACKEND_UNAVAILABLE', retryable: false });
    const stray = classifyFunctionError({ functionName: 'f', body: { errorType: 'TypeError', errorMessage: 'x is not a function', trace: ['TypeError: x is not a function', '    at Timeout._onTimeout (file:///tmp/fanout-code/abc.mjs:3:9)'] }, logTail: undefined });
    expect(stray).toMatchObject({ code: 'WORKER_CRASHED', fault: 'user-code', remoteName: 'TypeError' });
    expect(stray.remoteStack).toContain('abc.mjs:3:9');
  });
});

