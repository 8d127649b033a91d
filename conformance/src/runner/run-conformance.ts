import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConformanceSuite } from '../adapter-conformance.js';
import type { ConformanceEnvironment } from '../environment.js';
import { readReportFile, type ChaosFigures } from '../report/report.js';
import { unboundedFromText, type DeclaredCapabilities } from './declared-capabilities.js';
import { resolveModuleFile } from './resolve-module.js';
import { runSuiteFiles, type ConformanceTestOutcome } from './vitest-runner.js';

/** The environment facts that can travel to the test process as JSON (a probe or reporter cannot). */
export type SerializableEnvironment = Omit<ConformanceEnvironment, 'probe' | 'reporter'>;

/** What {@link runConformance} certifies, and how. */
export type RunConformanceOptions = {
  /** The adapter: a package name (resolved from `cwd`), a path, or a `file:` URL. Its plugin is the default export. */
  adapterModule: string;
  /** The export holding the plugin. Default: `default`. */
  exportName?: string;
  /** The module of a storage plugin, for an adapter that provides compute only. Its default export is used. */
  storageAdapterModule?: string;
  /** `compute.options` as a user would write them (JSON). Default: `{}`. */
  computeOptions?: Record<string, unknown>;
  /** `storage.options` as a user would write them (JSON). Default: `{}`. */
  storageOptions?: Record<string, unknown>;
  /** Facts about where the run happens. Default: `{}`. */
  environment?: SerializableEnvironment;
  /** Part of the adapter to certify. Default: everything the plugin provides. */
  suites?: readonly ConformanceSuite[];
  /** Working directory: module resolution and relative paths in options. Default: `process.cwd()`. */
  cwd?: string;
  /** Extra resolve conditions for the test process, such as `source` inside the fanout workspace. Default: none. */
  conditions?: readonly string[];
  /** `default` prints vitest's output as the tests run; `silent` prints nothing. Default: `silent`. */
  output?: 'default' | 'silent';
};

/** Totals for one group (a top-level describe block, such as `storage: basics`). */
export type ConformanceGroupOutcome = { name: string; passed: number; failed: number; skipped: number };

/** The machine-readable outcome of a certification run. */
export type ConformanceRunReport = {
  /** The adapter module as given. */
  adapter: string;
  /** Every test that ran passed, at least one ran, and nothing failed outside a test. */
  ok: boolean;
  /** ISO 8601 time the run started. */
  startedAt: string;
  durationMs: number;
  groups: ConformanceGroupOutcome[];
  /** What the certified backends declare, defaults filled in: the facts every skip rests on. */
  capabilities: DeclaredCapabilities;
  tests: ConformanceTestOutcome[];
  /** Figures of each chaos scenario that ran. */
  chaos: ChaosFigures[];
  /** Failures outside any test: a module that failed to load, an unhandled rejection. */
  errors: string[];
};

/**
 * Certify an adapter from a program (what `fanout conformance <adapter>` builds on): write a
 * temporary vitest test file that applies {@link describeConformance} to the adapter's plugin,
 * run it in a nested vitest, and return every group's and test's outcome, skip reasons and the
 * chaos figures. A failing test is reported, never thrown; this rejects only when the run itself
 * cannot start (`ADAPTER_NOT_FOUND` for a module that cannot be found).
 */
export async function runConformance(options: RunConformanceOptions): Promise<ConformanceRunReport> {
  const cwd = options.cwd ?? process.cwd();
  const conditions = options.conditions ?? [];
  const adapterFile = resolveModuleFile(options.adapterModule, cwd, conditions);
  const storageFile = options.storageAdapterModule === undefined ? undefined : resolveModuleFile(options.storageAdapterModule, cwd, conditions);
  const directory = await mkdtemp(join(tmpdir(), 'fanout-conformance-'));
  const reportFile = join(directory, 'figures.jsonl');
  const testFile = join(directory, 'adapter.conformance.test.mjs');
  const capabilitiesFile = join(directory, 'capabilities.json');
  const started = Date.now();
  try {
    await writeFile(testFile, testFileSource({ ...options, adapterFile, storageFile, reportFile, capabilitiesFile, cwd }));
    const run = await runSuiteFiles([testFile], { root: directory, conditions, output: options.output ?? 'silent' });
    const groups = new Map<string, ConformanceGroupOutcome>();
    for (const test of run.tests) {
      const name = test.suites[0] ?? '(top level)';
      const group = groups.get(name) ?? { name, passed: 0, failed: 0, skipped: 0 };
      group[test.state] += 1;
      groups.set(name, group);
    }
    return {
      adapter: options.adapterModule,
      ok: run.errors.length === 0 && run.tests.some((test) => test.state === 'passed') && !run.tests.some((test) => test.state === 'failed'),
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      groups: [...groups.values()],
      tests: run.tests,
      capabilities: await readCapabilities(capabilitiesFile),
      chaos: readReportFile(reportFile).chaos,
      errors: run.errors,
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

async function readCapabilities(file: string): Promise<DeclaredCapabilities> {
  try {
    return JSON.parse(await readFile(file, 'utf8'), unboundedFromText) as DeclaredCapabilities;
  } catch {
    // The test file failed before it could write them; the run's errors say why.
    return {};
  }
}

/** This package's entry file, in the form this module runs as (TypeScript source under a test runner, or built JavaScript). */
function ownEntryFile(): string {
  const here = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`../index${extname(here)}`, import.meta.url));
}

function testFileSource(
  parameters: RunConformanceOptions & { adapterFile: string; storageFile: string | undefined; reportFile: string; capabilitiesFile: string; cwd: string },
): string {
  const json = (value: unknown) => JSON.stringify(value ?? null);
  const exportName = parameters.exportName ?? 'default';
  return `// Written by runConformance for one run; deleted afterwards.
import { describeConformance, fileReporter, writeDeclaredCapabilities } from ${json(ownEntryFile())};
import * as adapter from ${json(parameters.adapterFile)};
${parameters.storageFile ? `import * as storageAdapter from ${json(parameters.storageFile)};` : 'const storageAdapter = undefined;'}

const plugin = adapter[${json(exportName)}];
if (!plugin || typeof plugin !== 'object') throw new Error(${json(`${parameters.adapterModule} has no export ${exportName} holding an adapter plugin.`)});
const storagePlugin = storageAdapter?.default;
const setup = {
  plugin,
  ...(storagePlugin ? { storagePlugin } : {}),
  computeOptions: ${json(parameters.computeOptions ?? {})},
  storageOptions: ${json(parameters.storageOptions ?? {})},
  baseDirectory: ${json(parameters.cwd)},
};

// The capabilities the backends declare, with defaults filled in, for the report's table.
await writeDeclaredCapabilities(setup, ${json(parameters.capabilitiesFile)});

describeConformance(
  setup,
  { ...${json(parameters.environment ?? {})}, reporter: fileReporter(${json(parameters.reportFile)}) },
  ${parameters.suites ? json(parameters.suites) : 'undefined'},
);
`;
}
