import { createHash } from 'node:crypto';
import { FanoutError, type ErrorCode } from '@fanout/spec';
import { expect } from 'vitest';

/** What a promise settled with, without letting a rejection escape. */
export async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A short description of a rejection reason or a value, for assertion messages. */
export function describeOutcome(outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): string {
  if (outcome.ok) return `resolved with ${describeValue(outcome.value)}`;
  const { error } = outcome;
  if (FanoutError.isInstance(error)) return `rejected with FanoutError ${error.code}`;
  return `rejected with ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
}

function describeValue(value: unknown): string {
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (value === undefined) return 'undefined';
  try {
    // Bytes inside a result (a record in a response) would otherwise print as thousands of numbers.
    const text = JSON.stringify(value, (_key, entry: unknown) => (entry instanceof Uint8Array ? `<${entry.byteLength} bytes>` : entry));
    return text?.slice(0, 160) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * Assert that `promise` rejects with a `FanoutError` of one of `codes`. Codes are the API; messages
 * are for people and are never asserted.
 */
export async function expectFanoutError(promise: Promise<unknown>, ...codes: ErrorCode[]): Promise<FanoutError> {
  const outcome = await settle(promise);
  const matches = !outcome.ok && FanoutError.isInstance(outcome.error) && codes.includes(outcome.error.code);
  expect(matches, `expected a FanoutError with code ${codes.join(' or ')}, but the operation ${describeOutcome(outcome)}`).toBe(true);
  return (outcome as { ok: false; error: FanoutError }).error;
}

/**
 * Assert that a call is refused as a programming mistake: it throws, or returns a promise that
 * rejects, with a `TypeError`.
 */
export async function expectTypeError(call: () => unknown, what: string): Promise<void> {
  const outcome = await settle(Promise.resolve().then(call));
  expect(!outcome.ok && outcome.error instanceof TypeError, `${what} should be refused with a TypeError, but it ${describeOutcome(outcome)}`).toBe(true);
}

/** Assert that bytes are a plain `Uint8Array`, not a `Buffer` or another subclass, as the spec asks of `get`. */
export function expectPlainBytes(bytes: Uint8Array | undefined, what: string): void {
  expect(bytes !== undefined && Object.getPrototypeOf(bytes) === Uint8Array.prototype, `${what} should be a plain Uint8Array, got ${bytes?.constructor?.name ?? String(bytes)}`).toBe(true);
}

/** Assert two byte arrays are equal, reporting lengths and the first difference rather than dumping both. */
export function expectSameBytes(actual: Uint8Array | undefined | null, expected: Uint8Array, what = 'the bytes read'): void {
  expect(actual instanceof Uint8Array, `${what} should be a Uint8Array, got ${actual === null ? 'null' : typeof actual}`).toBe(true);
  const bytes = actual as Uint8Array;
  if (bytes.byteLength === expected.byteLength && Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(expected)) return;
  let first = 0;
  while (first < Math.min(bytes.byteLength, expected.byteLength) && bytes[first] === expected[first]) first += 1;
  expect.fail(`${what}: ${bytes.byteLength} bytes where ${expected.byteLength} were expected; first difference at byte ${first}`);
}

/** Poll `probe` until it returns something other than `undefined`, or give up after `timeoutMs` with `undefined`. */
export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 50): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}

/** Resolve after `milliseconds`. */
export function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `length` bytes where byte `i` is `(i * 31 + offset) % 251`: cheap, and any misplaced slice shows. */
export function patternBytes(length: number, offset = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index += 1) bytes[index] = (index * 31 + offset) % 251;
  return bytes;
}

/** Lowercase hex SHA-256. */
export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Compare keys as stores order them: by their UTF-8 bytes. */
export function compareUtf8(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

/** Run `work` over `items` with at most `limit` in flight. */
export async function inBatches<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next;
      next += 1;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
