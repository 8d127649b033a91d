/**
 * The task module the job groups ship to workers through core. It imports nothing at its top (one
 * task loads `node:fs` when it needs it), so it bundles into a small file on any platform. Each
 * export is one behaviour under test.
 */

/** The square of a number. */
export function square(value: number): number {
  return value * value;
}

/** The sum of numbers: the reduction of `mapReduce`. */
export function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

/** Every byte inverted (255 - b): large outputs whose every byte depends on the input. */
export function invertBytes(bytes: Uint8Array): Uint8Array {
  const inverted = new Uint8Array(bytes.byteLength);
  for (let index = 0; index < bytes.byteLength; index += 1) inverted[index] = 255 - bytes[index]!;
  return inverted;
}

/** The square of a number, except that multiples of seven throw a `RangeError`. */
export function squareUnlessMultipleOfSeven(value: number): number {
  if (value % 7 === 0) throw new RangeError(`${value} is a multiple of seven`);
  return value * value;
}

/** The square of `value`, after pausing `pauseMs`: tasks that take long enough to interrupt. */
export async function pausedSquare(input: { value: number; pauseMs: number }): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, input.pauseMs));
  return input.value * input.value;
}

/**
 * `pausedSquare`, except that an input carrying `crashDirectory` ends its worker process the first
 * time it runs (exit code 70, before any result is written), leaving a marker file in that
 * directory so that the next attempt runs normally. The directory must be one the workers share
 * (a folder on this machine for local and emulated backends).
 */
export async function squareCrashingOnce(input: { value: number; pauseMs: number; crashDirectory?: string }): Promise<number> {
  if (input.crashDirectory !== undefined) {
    const { existsSync, mkdirSync, writeFileSync } = await import('node:fs');
    const marker = `${input.crashDirectory}/${input.value}`;
    if (!existsSync(marker)) {
      mkdirSync(input.crashDirectory, { recursive: true });
      writeFileSync(marker, '');
      process.exit(70);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, input.pauseMs));
  return input.value * input.value;
}
