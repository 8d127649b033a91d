import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { childHeapMb, maxResponseRecordBytes, parseRuntimeResponse, recordOfResponse, RUNTIME_RESPONSE_VERSION } from './function-runtime.js';
import { transportWorkerError } from './worker-failure.js';

const parse = (body: string) => parseRuntimeResponse(new TextEncoder().encode(body), 'The function f', 'Check compute.options.functionName.');

describe('the runtime response', () => {
  it('carries a record as base64, or says it is stored, or carries the worker\'s failure', () => {
    expect(recordOfResponse(parse(JSON.stringify({ fanout: 1, record: 'AQID' })), 'in f')).toEqual(new Uint8Array([1, 2, 3]));
    expect(recordOfResponse(parse('{"fanout":1,"stored":true}'), 'in f')).toBeUndefined();
    const failure = transportWorkerError(new FanoutError('bundle gone', { code: ErrorCode.CODE_INTEGRITY_FAILED }), 'The runtime');
    let thrown: unknown;
    try {
      recordOfResponse(parse(JSON.stringify({ fanout: RUNTIME_RESPONSE_VERSION, error: failure })), 'in function f');
    } catch (error) {
      thrown = error;
    }
    expect(FanoutError.isInstance(thrown, ErrorCode.CODE_INTEGRITY_FAILED)).toBe(true);
  });

  it('refuses what the runtime would not send, quoting it and saying what to check', () => {
    for (const body of ['', 'null', '{"fanout":2,"stored":true}', '{"fanout":1}', '{"statusCode":200,"body":"hello"}']) {
      let thrown: unknown;
      try {
        parse(body);
      } catch (error) {
        thrown = error;
      }
      expect(FanoutError.isInstance(thrown, ErrorCode.PROTOCOL_ERROR), body).toBe(true);
      expect((thrown as Error).message).toMatch(/^The function f answered with something that is not a fanout runtime response \(.*\)\. Check compute\.options\.functionName\.$/);
    }
  });

  it('keeps room for the envelope when a record travels as base64', () => {
    const limit = 6 * 1024 * 1024;
    const largest = maxResponseRecordBytes(limit);
    expect(Math.ceil(largest / 3) * 4).toBeLessThanOrEqual(limit - 1024);
    expect(Math.ceil((largest + 3) / 3) * 4).toBeGreaterThan(limit - 1024);
  });

  it('gives the worker child the function\'s memory less what the supervisor needs, and never too little', () => {
    expect(childHeapMb(1024)).toBe(896);
    expect(childHeapMb(128)).toBe(64);
  });
});
