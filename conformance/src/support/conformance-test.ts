import { it } from 'vitest';
import type { EmulatorGapBehaviour, ResolvedEnvironment } from '../environment.js';

/**
 * Something a test needs from the backend under test. Only declarations count: a declared
 * capability, an optional method the backend has, a declared limit small enough to test.
 */
export type Requirement = {
  /** How the title names it, such as `capabilities.conditionalCreate` or `create()`. */
  label: string;
  met: boolean;
};

/** A declared capability as a requirement; `owner` prefixes it when two backends are involved (`storage capabilities.conditionalCreate`). */
export function capability(name: string, met: boolean, owner?: string): Requirement {
  return { label: `${owner ? `${owner} ` : ''}capabilities.${name}`, met };
}

/** An optional method as a requirement. */
export function method(name: string, met: boolean): Requirement {
  return { label: `${name}()`, met };
}

/** How a conformance test may be skipped, and how long it may take. */
export type ConformanceTestOptions = {
  /** What the test needs; when any is unmet the test is skipped, and the title always says what it needs. */
  requires?: readonly Requirement[];
  /**
   * The spec behaviour the test depends on, or several: a declared emulator gap in any of them
   * skips it. Only a declared gap can; without one the test runs unchanged.
   */
  behaviour?: EmulatorGapBehaviour | readonly EmulatorGapBehaviour[];
  /** Time limit before scaling by the environment's `timeScale`. */
  timeoutMs: number;
};

/**
 * Declare one conformance test. Its title carries every requirement, `(requires …)`, so a report
 * says why a test did not run; a declared emulator gap replaces that with `(emulator gap: …)`.
 * Nothing else can skip a test.
 */
export function conformanceTest(
  environment: ResolvedEnvironment,
  title: string,
  options: ConformanceTestOptions,
  body: () => Promise<void>,
): void {
  const requires = options.requires ?? [];
  const behaviours: readonly EmulatorGapBehaviour[] = [options.behaviour ?? []].flat();
  const gap = behaviours.map((behaviour) => environment.gap(behaviour)).find((declared) => declared !== undefined);
  const timeout = environment.scaled(options.timeoutMs);
  if (gap) {
    it.skip(`${title} (emulator gap: ${gap.reason})`, body, timeout);
    return;
  }
  const note = requires.length ? ` (requires ${requires.map((requirement) => requirement.label).join(', ')})` : '';
  it.skipIf(requires.some((requirement) => !requirement.met))(`${title}${note}`, body, timeout);
}

/** Why a test was skipped, read back from its title; `undefined` when the title gives no reason. */
export function skipReasonFromTitle(title: string): string | undefined {
  for (const marker of [' (emulator gap: ', ' (requires ']) {
    const start = title.lastIndexOf(marker);
    if (start >= 0 && title.endsWith(')')) return title.slice(start + 2, -1);
  }
  return undefined;
}
