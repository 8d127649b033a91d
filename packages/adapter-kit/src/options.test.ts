import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { describeValue, isIntegerBetween, optionsRecord } from './options.js';

const context = { configPath: 'profiles.ci.storage.options' };
const shape = { adapter: 'demo', known: ['url', 'timeoutMs'], example: '{ url: "demo://host" }' };

function refusal(options: unknown): FanoutError {
  try {
    optionsRecord(options, context, shape);
  } catch (error) {
    expect(FanoutError.isInstance(error, ErrorCode.CONFIG_INVALID)).toBe(true);
    return error as FanoutError;
  }
  throw new Error('expected a refusal');
}

describe('optionsRecord', () => {
  it('reads absent and null options as no options, and passes known keys through', () => {
    expect(optionsRecord(undefined, context, shape)).toEqual({});
    expect(optionsRecord(null, context, shape)).toEqual({});
    expect(optionsRecord({ url: 'demo://x' }, context, shape)).toEqual({ url: 'demo://x' });
  });

  it('refuses anything but an object, showing an example, and an unknown key by its full path', () => {
    expect(refusal('demo://x').message).toBe('profiles.ci.storage.options must be an object such as { url: "demo://host" }, got "demo://x".');
    expect(refusal([1]).message).toContain('got an array');
    expect(refusal({ URL: 'x' }).message).toBe(
      'profiles.ci.storage.options.URL is not an option of the demo adapter. Known options: url, timeoutMs. Check the spelling or remove it.',
    );
  });
});

describe('describeValue and isIntegerBetween', () => {
  it('show a value the way a message should, and accept only whole numbers in range', () => {
    expect([describeValue('a'), describeValue(2), describeValue(null), describeValue({})]).toEqual(['"a"', '2', 'null', 'a value of type object']);
    expect([isIntegerBetween(3, 1, 3), isIntegerBetween(4, 1, 3), isIntegerBetween(2.5, 1, 3), isIntegerBetween('2', 1, 3)]).toEqual([true, false, false, false]);
  });
});
