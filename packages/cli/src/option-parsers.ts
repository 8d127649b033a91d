import { InvalidArgumentError } from 'commander';
import { parseDuration } from './format.js';

/**
 * Parsers for option values. They throw commander's `InvalidArgumentError`, so a bad value is
 * reported like any other usage mistake (with the option's name) and exits with code 2 before
 * anything connects.
 */
export function parsePositiveInteger(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new InvalidArgumentError('Expected a whole number of at least 1.');
  return Number(text);
}

export function parseChunkSize(text: string): number | 'auto' {
  if (text.trim() === 'auto') return 'auto';
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new InvalidArgumentError("Expected 'auto' or a whole number of tasks per invocation, at least 1.");
  }
  return Number(text);
}

export function parseDurationOption(text: string): number {
  const milliseconds = parseDuration(text);
  if (milliseconds === undefined) {
    throw new InvalidArgumentError('Expected a number and a unit, such as 30m, 12h, 7d or 2w (units: ms, s, m, h, d, w).');
  }
  return milliseconds;
}
