import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, parseRequestTimeouts, requestTimeouts } from './request-timeouts.js';

const context = { configPath: 'storage.options' };

describe('request timeouts', () => {
  it('default to 10 s to connect and 30 s of silence', () => {
    expect(parseRequestTimeouts({}, context)).toEqual({ connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS, responseTimeoutMs: DEFAULT_RESPONSE_TIMEOUT_MS });
    expect([DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS]).toEqual([10_000, 30_000]);
    expect(requestTimeouts({ connectTimeoutMs: 5 })).toEqual({ connectTimeoutMs: 5, responseTimeoutMs: 30_000 });
  });

  it('refuse a bad option as CONFIG_INVALID naming it, and a bad setting in code as a TypeError', () => {
    for (const [key, value] of [['connectTimeoutMs', 0], ['responseTimeoutMs', 1.5], ['connectTimeoutMs', '10'], ['responseTimeoutMs', 3_600_001]] as const) {
      let error: unknown;
      try {
        parseRequestTimeouts({ [key]: value }, context);
      } catch (caught) {
        error = caught;
      }
      expect(FanoutError.isInstance(error, ErrorCode.CONFIG_INVALID)).toBe(true);
      expect((error as Error).message).toMatch(new RegExp(`^storage\\.options\\.${key} must be a whole number of milliseconds from 1 to 3600000`));
    }
    expect(() => requestTimeouts({ responseTimeoutMs: -1 })).toThrow(TypeError);
  });
});
