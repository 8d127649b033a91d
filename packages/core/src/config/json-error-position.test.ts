import { describe, expect, it } from 'vitest';
import { describeJsonSyntaxError, locateJsonError } from './json-error-position.js';

describe('locateJsonError', () => {
  it('accepts what JSON.parse accepts', () => {
    for (const valid of ['0', '-1.5e+3', '"a\\u00e9\\n"', '{"a": [true, false, null, {}]}', ' [ ] ']) {
      expect(locateJsonError(valid)).toBeUndefined();
    }
  });

  it('points at the first character JSON.parse would refuse', () => {
    expect(locateJsonError('[1, 2,]')).toBe(6);
    expect(locateJsonError('{"a" 1}')).toBe(5);
    expect(locateJsonError('[01]')).toBe(2);
    expect(locateJsonError('"\\x"')).toBe(1);
    expect(locateJsonError('[1] 2')).toBe(4);
    expect(locateJsonError('[1')).toBe(2);
  });
});

describe('describeJsonSyntaxError', () => {
  it('says the line and column, counting from the first line given', () => {
    const text = '{\n  "a": 1,\n}';
    const error = (() => {
      try {
        JSON.parse(text);
      } catch (caught) {
        return caught;
      }
    })();
    expect(describeJsonSyntaxError(text, error)).toBe('line 3, column 1: unexpected "}"');
    expect(describeJsonSyntaxError('[1,]', error, 7)).toBe('line 7, column 4: unexpected "]"');
  });
});
