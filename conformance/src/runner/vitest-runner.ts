import type { Reporter, TestCase, TestModule, TestSuite } from 'vitest/node';
import { skipReasonFromTitle } from '../support/conformance-test.js';

/** How one conformance test ended. */
export type ConformanceTestOutcome = {
  /** The describe blocks around the test, outermost first; the first is the group, such as `storage: basics`. */
  suites: string[];
  /** The test's title, requirements included. */
  name: string;
  state: 'passed' | 'failed' | 'skipped';
  /** Why it was skipped: `requires …` or `emulator gap: …`, read from its title. */
  skipReason: string | undefined;
  durationMs: number;
  /** Failure messages, first line of each. */
  errors: string[];
};

/** Options for running test files in a nested vitest. */
export type SuiteRunOptions = {
  /** Project root for vitest: where it looks for files and writes its cache. */
  root: string;
  /** Resolve conditions to add, such as `source` inside the fanout workspace. Default: none. */
  conditions?: readonly string[];
  /** `default` prints vitest's usual output; `silent` prints nothing. Default: `silent`. */
  output?: 'default' | 'silent';
};

/** What a nested vitest run produced. */
export type SuiteRunResult = {
  tests: ConformanceTestOutcome[];
  /** Errors outside any test: a file that failed to load, an unhandled rejection. */
  errors: string[];
};

/**
 * Run test files in a nested vitest (through `vitest/node`, the runner's public API, so that the
 * caller's own process never loads test code) and return how every test ended. The caller's
 * `process.exitCode` is left as it was: a failing conformance test is a result here, not an error.
 */
export async function runSuiteFiles(files: readonly string[], options: SuiteRunOptions): Promise<SuiteRunResult> {
  const { startVitest } = await import('vitest/node');
  const result: SuiteRunResult = { tests: [], errors: [] };
  const collector: Reporter = {
    onTestRunEnd(testModules, unhandledErrors) {
      for (const testModule of testModules) collectModule(testModule, result);
      for (const error of unhandledErrors) result.errors.push(shortMessage((error as { message?: string }).message ?? String(error)));
    },
  };
  const exitCode = process.exitCode;
  try {
    // startVitest closes its own instance when not watching.
    await startVitest(
      'test',
      [...files],
      {
        root: options.root,
        config: false,
        watch: false,
        include: files.map((file) => file.replaceAll('\\', '/')),
        reporters: options.output === 'default' ? ['default', collector] : [collector],
        passWithNoTests: false,
        // One file at a time: conformance groups share the machine's cores with the backend under test.
        fileParallelism: false,
      },
      options.conditions?.length ? { resolve: { conditions: [...options.conditions] } } : {},
    );
  } finally {
    process.exitCode = exitCode;
  }
  return result;
}

function collectModule(testModule: TestModule, result: SuiteRunResult): void {
  for (const error of testModule.errors()) result.errors.push(`${testModule.moduleId}: ${shortMessage(error.message ?? String(error))}`);
  for (const testCase of testModule.children.allTests()) result.tests.push(outcomeOf(testCase));
}

function outcomeOf(testCase: TestCase): ConformanceTestOutcome {
  const suites: string[] = [];
  for (let parent: TestSuite | TestModule = testCase.parent; parent.type === 'suite'; parent = parent.parent) suites.unshift(parent.name);
  const outcome = testCase.result();
  const state = outcome.state === 'passed' ? 'passed' : outcome.state === 'failed' ? 'failed' : 'skipped';
  return {
    suites,
    name: testCase.name,
    state,
    skipReason: state === 'skipped' ? skipReasonFromTitle(testCase.name) : undefined,
    durationMs: Math.round(testCase.diagnostic()?.duration ?? 0),
    errors: (outcome.errors ?? []).map((error) => shortMessage(error.message ?? String(error))),
  };
}

/** A message short enough for a report: its first lines, at most 500 characters. */
function shortMessage(text: string): string {
  const lines = text.split('\n').slice(0, 4).join('\n');
  return lines.length > 500 ? `${lines.slice(0, 497)}...` : lines;
}
