import { describe, expect, it } from 'vitest';
import { ErrorCode } from './error-codes.js';
import { FanoutError } from './fanout-error.js';

describe('FanoutError fault', () => {
  it("defaults to the code's fault", () => {
    expect(new FanoutError('x', { code: ErrorCode.RESULT_NOT_SERIALIZABLE }).fault).toBe('user-code');
    expect(new FanoutError('x', { code: ErrorCode.CONFIG_INVALID }).fault).toBe('caller');
    expect(new FanoutError('x', { code: ErrorCode.TIMEOUT }).fault).toBe('backend');
  });

  it('is the one the options give when they give one', () => {
    expect(new FanoutError('x', { code: ErrorCode.RESULT_NOT_SERIALIZABLE, fault: 'backend' }).fault).toBe('backend');
    expect(new FanoutError('x', { code: ErrorCode.TIMEOUT, fault: 'user-code' }).fault).toBe('user-code');
  });
});
