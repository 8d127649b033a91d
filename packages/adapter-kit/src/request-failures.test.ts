import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { failureKindOf, requestFailureError, retryAfterMs, type RequestContext, type RequestFailure } from './request-failures.js';

const context: RequestContext = {
  provider: 'Google Cloud',
  service: 'Cloud Storage',
  operation: 'objects.get',
  target: 'gs://b/k',
  optionsPath: 'storage.options',
  accessAdvice: 'Check Application Default Credentials.',
};

function classify(failure: Partial<RequestFailure>): FanoutError {
  return requestFailureError({ cause: new Error('x'), name: 'Error', message: 'm', ...failure }, context);
}

const site = { endpoint: '127.0.0.1:9', timeouts: { connectTimeoutMs: 1000, responseTimeoutMs: 2000 } };

describe('requestFailureError', () => {
  it('makes 429, or a throttling name whatever the status, THROTTLED with the Retry-After', () => {
    const error = classify({ status: 429, retryAfterMs: 1500 });
    expect(error.code).toBe(ErrorCode.THROTTLED);
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBe(1500);
    expect(error.message).toContain('throttled by Google Cloud');
    expect(classify({ status: 503, kind: 'throttled' }).code).toBe(ErrorCode.THROTTLED);
  });

  it('makes 401 and 403 ACCESS_DENIED with the adapter\'s advice, not retryable', () => {
    for (const status of [401, 403]) {
      const error = classify({ status, name: 'Forbidden', message: 'no' });
      expect(error.code).toBe(ErrorCode.ACCESS_DENIED);
      expect(error.retryable).toBe(false);
      expect(error.message).toBe('Cloud Storage objects.get on gs://b/k failed: access denied (Forbidden (HTTP ' + status + '): no). Check Application Default Credentials.');
    }
  });

  it('makes 413 PAYLOAD_TOO_LARGE', () => {
    expect(classify({ status: 413 }).code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
  });

  it('makes a client timeout BACKEND_UNAVAILABLE, retryable, naming the endpoint, the limit and the option', () => {
    const connect = classify({ timeout: 'connect', site });
    expect(connect.code).toBe(ErrorCode.BACKEND_UNAVAILABLE);
    expect(connect.retryable).toBe(true);
    expect(connect.message).toMatch(/no connection to 127\.0\.0\.1:9 opened within 1000 ms \(storage\.options\.connectTimeoutMs/);
    expect(classify({ timeout: 'silence', site }).message).toMatch(/went silent for 2000 ms \(storage\.options\.responseTimeoutMs/);
    expect(classify({ timeout: 'silence', site: { endpoint: 'h:1', timeouts: { connectTimeoutMs: 1 } } }).message).toMatch(/for longer than storage\.options\.responseTimeoutMs/);
  });

  it('makes network failures retryable, and says to check the endpoint when it cannot be reached', () => {
    const refused = classify({ errno: 'ECONNREFUSED', site });
    expect(refused.retryable).toBe(true);
    expect(refused.message).toMatch(/the connection to 127\.0\.0\.1:9 failed .*Check that storage\.options\.endpoint/);
    const reset = classify({ errno: 'ECONNRESET', site });
    expect(reset.retryable).toBe(true);
    expect(reset.message).not.toMatch(/Check that/);
  });

  it('retries 5xx, a transient name and a request that got no answer; not a 4xx or a request the SDK refused', () => {
    expect(classify({ status: 500 }).retryable).toBe(true);
    expect(classify({ status: 409, kind: 'transient' }).retryable).toBe(true);
    expect(classify({}).retryable).toBe(true);
    const refused = classify({ status: 400 });
    expect([refused.code, refused.retryable, refused.fault]).toEqual([ErrorCode.BACKEND_UNAVAILABLE, false, 'caller']);
    expect(classify({ clientSide: true }).retryable).toBe(false);
  });
});

describe('retryAfterMs', () => {
  it('reads delay-seconds and HTTP dates, and nothing else', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(0.5)).toBe(500);
    const now = Date.parse('Tue, 08 Dec 2026 01:00:00 GMT');
    expect(retryAfterMs('Tue, 08 Dec 2026 01:00:03 GMT', now)).toBe(3000);
    expect(retryAfterMs('Tue, 08 Dec 2026 00:59:00 GMT', now), 'a date in the past: at once').toBe(0);
    for (const value of ['', 'soon', '-1', undefined, null, {}]) expect(retryAfterMs(value)).toBeUndefined();
  });
});

describe('failureKindOf', () => {
  it('finds the kind of a service\'s error name, throttling first, and nothing for an unknown or absent name', () => {
    const names = { transient: new Set(['SlowDown', 'InternalError']), throttled: new Set(['SlowDown']), access: new Set(['Forbidden']) };
    expect(failureKindOf('SlowDown', names)).toBe('throttled');
    expect(failureKindOf('InternalError', names)).toBe('transient');
    expect(failureKindOf('Forbidden', names)).toBe('access');
    expect(failureKindOf('NoSuchKey', names)).toBeUndefined();
    expect(failureKindOf(undefined, names)).toBeUndefined();
  });
});
