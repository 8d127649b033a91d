import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CommandContext } from '../command-context.js';
import { ExitCode } from '../output.js';
import { UsageError } from '../usage-error.js';

type ConformanceOptions = {
  storageAdapter?: string;
  computeOptions?: Record<string, unknown>;
  storageOptions?: Record<string, unknown>;
  suites?: ('storage' | 'compute' | 'adapter')[];
  out: string;
  verbose?: boolean;
};

/** The part of `@fanout/conformance` this command uses, loaded only when the command runs. */
type ConformanceModule = typeof import('@fanout/conformance');

const EXAMPLES = `
Examples:
  $ fanout conformance ./my-adapter
  $ fanout conformance fanout-adapter-redis --storage-options '{"url":"redis://127.0.0.1:6379"}'
  $ fanout conformance ./my-compute-adapter --storage-adapter @fanout/adapter-local --suites compute,adapter

Runs fanout's conformance suite (@fanout/conformance) against an adapter, the package or
path whose default export is its plugin, and writes a certification report: the adapter's
declared capabilities, pass, fail or skip for every test with the reason for each skip, and
the chaos figures (faults injected, results lost, duplicates). Tests are skipped only for
capabilities the adapter does not declare.

The suite needs @fanout/conformance and vitest installed where the adapter is (they are
development dependencies of an adapter package). Exit code 0 when the adapter is certified,
1 when a test failed.`;

export function registerConformanceCommand(program: Command, context: CommandContext): void {
  program
    .command('conformance')
    .description('Certify an adapter: run the conformance suite against it and write a report.')
    .argument('<adapter>', 'the adapter: a package name, a package folder or a module path')
    .option('--storage-adapter <module>', 'a storage adapter to pair with an adapter that provides only compute')
    .addOption(new Option('--compute-options <json>', 'compute options, as in configuration (a JSON object)').argParser(parseJsonObject))
    .addOption(new Option('--storage-options <json>', 'storage options, as in configuration (a JSON object)').argParser(parseJsonObject))
    .addOption(new Option('--suites <list>', 'parts to certify: storage, compute, adapter (default: all the adapter provides)').argParser(parseSuites))
    .option('--out <folder>', 'where to write report.md and report.json', 'conformance-report')
    .showHelpAfterError("(run 'fanout conformance --help' for usage)")
    .addHelpText('after', EXAMPLES)
    .action(async (adapter: string, options: ConformanceOptions) => {
      const { io } = context;
      const conformance = await loadConformance(io.cwd);
      io.stderr.write(`certifying ${adapter}; this runs the whole suite and takes a few minutes…\n`);
      const report = await conformance.runConformance({
        adapterModule: asModuleSpecifier(adapter, io.cwd),
        cwd: io.cwd,
        ...(options.storageAdapter !== undefined ? { storageAdapterModule: options.storageAdapter } : {}),
        ...(options.computeOptions !== undefined ? { computeOptions: options.computeOptions } : {}),
        ...(options.storageOptions !== undefined ? { storageOptions: options.storageOptions } : {}),
        ...(options.suites !== undefined ? { suites: options.suites } : {}),
      });
      const folder = resolve(io.cwd, options.out);
      await mkdir(folder, { recursive: true });
      await writeFile(join(folder, 'report.json'), `${JSON.stringify(report, conformance.unboundedAsText, 2)}\n`);
      await writeFile(join(folder, 'report.md'), conformance.conformanceReportMarkdown(report));
      const count = (state: string) => report.tests.filter((test) => test.state === state).length;
      io.stdout.write(
        `${report.ok ? 'certified' : 'NOT certified'}: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped in ${Math.round(report.durationMs / 1000)} s\n`,
      );
      for (const test of report.tests.filter((entry) => entry.state === 'failed')) {
        io.stdout.write(`  failed: ${[...test.suites, test.name].join(' › ')}\n`);
      }
      for (const error of report.errors) io.stdout.write(`  error: ${error}\n`);
      io.stdout.write(`report: ${join(folder, 'report.md')} and report.json\n`);
      context.exitCode = report.ok ? ExitCode.success : ExitCode.failure;
    });
}

/**
 * `@fanout/conformance` (and vitest, which it runs) are needed only to certify adapters, so the
 * CLI does not depend on them: they are looked up in the user's project first, then beside the CLI.
 */
async function loadConformance(cwd: string): Promise<ConformanceModule> {
  for (const from of [join(cwd, 'package.json'), import.meta.url]) {
    try {
      const location = createRequire(from).resolve('@fanout/conformance');
      return (await import(pathToFileURL(location).href)) as ConformanceModule;
    } catch {
      // Try the next place.
    }
  }
  throw new UsageError(
    'Certifying an adapter needs the conformance suite: install it with `npm install --save-dev @fanout/conformance vitest` in the adapter project.',
  );
}

/** A folder or file that exists is meant as a path, even when written without `./`. */
function asModuleSpecifier(adapter: string, cwd: string): string {
  return existsSync(resolve(cwd, adapter)) ? resolve(cwd, adapter) : adapter;
}

function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(`Expected a JSON object, such as '{"url":"redis://127.0.0.1:6379"}'; got ${text}.`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError('Expected a JSON object.');
  return value as Record<string, unknown>;
}

function parseSuites(text: string): ('storage' | 'compute' | 'adapter')[] {
  const suites = text.split(',').map((entry) => entry.trim());
  const unknown = suites.filter((suite) => !['storage', 'compute', 'adapter'].includes(suite));
  if (unknown.length) throw new InvalidArgumentError(`Unknown suite ${unknown.join(', ')}; choose from storage, compute, adapter.`);
  return suites as ('storage' | 'compute' | 'adapter')[];
}
