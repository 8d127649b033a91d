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

/** A comma-separated list of lane names (profiles or backends), at least one. */
export function parseLaneList(text: string): string[] {
  const names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) throw new InvalidArgumentError('Expected one or more comma-separated profile or backend names, such as aws,local.');
  return names;
}

/** A non-negative amount of US dollars. */
export function parseDollars(text: string): number {
  const value = Number(text.trim().replace(/^\$/, ''));
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError('Expected an amount of US dollars, such as 2.50.');
  return value;
}

/** A non-negative number of milliseconds, fractions allowed. */
export function parseMilliseconds(text: string): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError('Expected a number of milliseconds, at least 0.');
  return value;
}
