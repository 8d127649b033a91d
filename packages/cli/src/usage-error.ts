const marker = Symbol.for('fanout.cli.usage-error');

/**
 * A mistake in what the user typed or pointed us at (a missing inputs file, a malformed line, a
 * command with nothing to act on). Printed without a stack, and the command exits with code 2.
 */
export class UsageError extends Error {
  readonly [marker] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UsageError';
  }

  static isInstance(value: unknown): value is UsageError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
