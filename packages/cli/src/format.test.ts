import { describe, expect, it } from 'vitest';
import { formatDuration, formatTable, parseDuration } from './format.js';

describe('parseDuration', () => {
  it('reads the units --older-than documents', () => {
    expect(parseDuration('30m')).toBe(30 * 60_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
  });

  it('refuses a number without a unit, or an unknown unit', () => {
    for (const text of ['7', 'd', '7y', '-1d', '7 days']) expect(parseDuration(text)).toBeUndefined();
  });
});

describe('formatDuration and formatTable', () => {
  it('formats durations at a readable precision', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(3210)).toBe('3.2 s');
    expect(formatDuration(245_000)).toBe('4 min 5 s');
    expect(formatDuration(7_800_000)).toBe('2 h 10 min');
  });

  it('aligns text left and numbers right', () => {
    expect(formatTable(['NAME', 'N'], [['a', 5], ['long', 10]])).toBe('NAME   N\na      5\nlong  10');
  });
});
