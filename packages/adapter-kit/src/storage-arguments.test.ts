import { describe, expect, it } from 'vitest';
import { assertByteRange, decodeKeyCursor, encodeKeyCursor, listPageLimit } from './storage-arguments.js';

describe('assertByteRange', () => {
  it('accepts whole, non-negative bounds and an open end', () => {
    for (const range of [{ start: 0 }, { start: 5, end: 5 }, { start: 0, end: 2 ** 40 }]) expect(() => assertByteRange(range)).not.toThrow();
  });

  it('refuses anything else with a TypeError that shows the range', () => {
    for (const range of [{ start: -1 }, { start: 1.5 }, { start: 0, end: -2 }, { start: Number.NaN }, { start: '0' as unknown as number }]) {
      expect(() => assertByteRange(range)).toThrow(TypeError);
    }
    expect(() => assertByteRange({ start: -1 })).toThrow('{"start":-1}');
  });
});

describe('listPageLimit', () => {
  it('uses the page size by default and never goes above it', () => {
    expect(listPageLimit(undefined, 1000)).toBe(1000);
    expect(listPageLimit(10, 1000)).toBe(10);
    expect(listPageLimit(5000, 1000)).toBe(1000);
  });

  it('refuses a limit below 1 or not whole', () => {
    for (const limit of [0, -3, 2.5, Number.POSITIVE_INFINITY]) expect(() => listPageLimit(limit, 1000)).toThrow(TypeError);
  });
});

describe('key cursors', () => {
  it('round-trip any key, Unicode included', () => {
    for (const key of ['a', 'results/job-1/00001-00010', 'données/é/𝄞']) {
      expect(decodeKeyCursor(encodeKeyCursor(key), '', 'Store')).toBe(key);
    }
  });

  it('refuse a cursor that is not one, or that belongs to another prefix, naming the backend', () => {
    const cursor = encodeKeyCursor('jobs/a');
    expect(decodeKeyCursor(cursor, 'jobs/', 'Store')).toBe('jobs/a');
    expect(() => decodeKeyCursor(cursor, 'results/', 'Store')).toThrow('is not a cursor Store.list returned for the prefix "results/"');
    for (const bad of ['', 'not base64!', `${cursor}=`, 42 as unknown as string]) expect(() => decodeKeyCursor(bad, '', 'Store')).toThrow(TypeError);
  });
});
