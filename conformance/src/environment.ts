import { randomBytes } from 'node:crypto';
import type { ConformanceReporter } from './report/report.js';

/**
 * Behaviours of the contracts that an emulator may not reproduce faithfully. Each names a
 * behaviour of the spec, not a test: every test that depends on the behaviour is skipped, with
 * the reason, when the environment declares the gap.
 */
export type EmulatorGapBehaviour =
  /** The emulator lists keys in an order other than ascending UTF-8 byte order. */
  | 'listing-order'
  /** The emulator refuses a byte range starting at or past the end instead of returning no bytes. */
  | 'range-past-end'
  /**
   * The emulator's `create` does not refuse a key that exists (S3 emulators that ignore
   * `If-None-Match: *` overwrite it): every test relying on first-writer-wins is skipped.
   */
  | 'conditional-create'
  /** The emulator's conditional create refuses an existing key, but is not atomic when creates race. */
  | 'conditional-create-race'
  /** The emulator mangles or refuses some printable characters in keys. */
  | 'key-characters'
  /** The emulator cannot hold or stream objects of 64 MiB. */
  | 'large-objects'
  /** The emulator ignores an `AbortSignal` given to a storage operation. */
  | 'abort'
  /**
   * The emulator cannot stop an invocation that is already running, although the platform it
   * emulates can and the backend declares `capabilities.cancelsRunningInvocations`. A platform that
   * cannot (Lambda) does not declare the capability; that is not a gap.
   */
  | 'cancellation'
  /** The emulator does not enforce the platform's payload limit. */
  | 'payload-limit';

/** A known shortcoming of the emulator a run uses, with the reason people will read in the report. */
export type EmulatorGap = {
  behaviour: EmulatorGapBehaviour;
  /** Why, for example "MinIO 2024 lists in UTF-16 order" or a link to the emulator's issue. */
  reason: string;
};

/**
 * An out-of-band view of the real store, bypassing the backend under test: for a folder, reading
 * the file; for a bucket, a request with another client. The suite uses it, when given, to check
 * that what the backend reports is what the store holds.
 */
export type StorageProbe = {
  /** The bytes the store holds for `key` (as given to the backend), or `undefined` when absent. */
  read(key: string): Promise<Uint8Array | undefined>;
};

/**
 * Facts about where the suite runs. Nothing here selects or skips tests: tests are skipped only
 * from the declared capabilities of the backend under test, or, on an emulator, from a declared
 * {@link EmulatorGap}.
 */
export type ConformanceEnvironment = {
  /**
   * Multiplies every time limit the suite uses (test timeouts, deadlines, bounded-time checks).
   * 1 suits a laptop; real clouds with cold starts and network latency want 3 to 10. Default: 1.
   */
  timeScale?: number;
  /**
   * Prefix of every key the suite writes, when the store is shared (a bucket that holds other
   * data). Each group adds a random namespace below it and deletes what it wrote. Default: none.
   */
  keyPrefix?: string;
  /** Out-of-band access to the real store, for extra checks. Default: none (the checks are left out). */
  probe?: StorageProbe;
  /** Known gaps of the emulator this run uses. Must be empty on a real platform. Default: none. */
  emulatorGaps?: readonly EmulatorGap[];
  /** Receives the chaos figures, for a certification report. Default: printed only. */
  reporter?: ConformanceReporter;
  /** Seed of every fault-injection decision, so a failing chaos run can be replayed. Default: {@link DEFAULT_SEED}. */
  seed?: number;
};

/** The fault-injection seed used when the environment names none. */
export const DEFAULT_SEED = 20_261_129;

/** The environment with its defaults applied, as the groups use it. */
export type ResolvedEnvironment = {
  readonly timeScale: number;
  readonly keyPrefix: string;
  readonly probe: StorageProbe | undefined;
  readonly gaps: readonly EmulatorGap[];
  readonly reporter: ConformanceReporter | undefined;
  readonly seed: number;
  /** A time limit in milliseconds, scaled for this environment. */
  scaled(milliseconds: number): number;
  /** A fresh random namespace under the key prefix, such as `conformance-1a2b3c4d5e6f`. */
  newNamespace(): string;
  /** The declared gap for a behaviour, if any. */
  gap(behaviour: EmulatorGapBehaviour): EmulatorGap | undefined;
};

/**
 * Apply the defaults and check the values. Throws `TypeError` for a value that cannot be right
 * (a programmer mistake in the test file, not a conformance failure).
 */
export function resolveEnvironment(environment: ConformanceEnvironment = {}): ResolvedEnvironment {
  const timeScale = environment.timeScale ?? 1;
  if (!Number.isFinite(timeScale) || timeScale <= 0) {
    throw new TypeError(`environment.timeScale must be a positive number, got ${String(timeScale)}.`);
  }
  const keyPrefix = (environment.keyPrefix ?? '').replace(/\/+$/, '');
  if (keyPrefix.startsWith('/') || keyPrefix.includes('//')) {
    throw new TypeError(`environment.keyPrefix must be a relative key prefix such as "ci/run-42", got ${JSON.stringify(environment.keyPrefix)}.`);
  }
  const seed = environment.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed)) throw new TypeError(`environment.seed must be an integer, got ${String(seed)}.`);
  const gaps = environment.emulatorGaps ?? [];
  for (const gap of gaps) {
    if (typeof gap?.reason !== 'string' || gap.reason.trim() === '') {
      throw new TypeError(`Every emulator gap needs a reason people can read; ${JSON.stringify(gap)} has none.`);
    }
  }
  return {
    timeScale,
    keyPrefix,
    probe: environment.probe,
    gaps,
    reporter: environment.reporter,
    seed,
    scaled: (milliseconds) => Math.round(milliseconds * timeScale),
    newNamespace: () => {
      const name = `conformance-${randomBytes(6).toString('hex')}`;
      return keyPrefix ? `${keyPrefix}/${name}` : name;
    },
    gap: (behaviour) => gaps.find((gap) => gap.behaviour === behaviour),
  };
}
