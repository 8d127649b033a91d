import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { globalOptionsOf, type CommandContext } from '../command-context.js';
import { withExecutor } from '../connection.js';
import { readInputs } from '../inputs.js';
import { reportJob } from '../job-report.js';
import { ExitCode } from '../output.js';
import { formatEstimate } from '../cost-report.js';
import { plural } from '../format.js';
import { parseChunkSize, parseDollars, parseMilliseconds, parsePositiveInteger } from '../option-parsers.js';
import { UsageError } from '../usage-error.js';

type RunOptions = {
  inputs: string;
  chunkSize?: number | 'auto';
  concurrency?: number;
  timeout?: number;
  mode?: 'auto' | 'sync' | 'async';
  durable?: boolean;
  label?: string;
  budget?: number;
  estimate?: boolean;
  taskMs?: number;
  output?: string;
  json?: boolean;
  quiet?: boolean;
};

const EXAMPLES = `
Examples:
  $ fanout run ./tasks.ts square --inputs numbers.json
  $ fanout run ./tasks.ts square --inputs numbers.jsonl --output results.jsonl
  $ seq 1 100 | fanout run ./tasks.ts square --inputs - --chunk-size 10
  $ fanout run ./tasks.ts resize --inputs images.json --backend aws --concurrency 200
  $ fanout run ./tasks.ts square --inputs numbers.json --json --output results.jsonl
  $ fanout run ./tasks.ts square --inputs numbers.json --lanes aws,local
  $ fanout run ./tasks.ts square --inputs numbers.json --estimate --task-ms 120
  $ fanout run ./tasks.ts square --inputs numbers.json --budget 2.50

Lanes: --lanes (a global option) runs one job over several backends at once; each name is a
profile of the configuration, else a backend. Tasks go to whichever lane has a free slot; a
throttled lane shrinks and a failing one is taken out while the others finish its work.

Cost: --estimate prints what the job would cost by the backends' declared prices and runs
nothing else (without --task-ms it runs a sample of 3 inputs to measure a task). --budget
stops dispatching before the job's projected cost passes it; unfinished tasks then fail
with BUDGET_EXCEEDED and finished results are kept.

Inputs: a JSON array (one element per task), or JSON lines (one JSON value per line).
Files ending in .jsonl or .ndjson are JSON lines, .json is an array, others are recognised
by their content.

Output: with every task successful, the values go to stdout as one JSON array, in input
order. --output writes one line per task, {"index", "ok", "value"} or {"index", "ok",
"error"}, whatever happened. Progress and failures go to stderr.

Exit codes: 0 all tasks succeeded, 1 a task or the backend failed, 2 a usage or
configuration mistake (nothing ran), 130 cancelled with Ctrl-C.`;

export function registerRunCommand(program: Command, context: CommandContext): void {
  program
    .command('run')
    .description('Run an exported function over every input and print the results.')
    .argument('<module>', 'task module: a .ts/.js file, relative to the working directory, or a file: URL')
    .argument('<export>', "the exported function to call with each input ('default' for the default export)")
    .requiredOption('-i, --inputs <file>', "inputs as a JSON array or JSON lines; '-' reads standard input")
    .addOption(new Option('--chunk-size <n|auto>', 'tasks per invocation').argParser(parseChunkSize))
    .addOption(new Option('--concurrency <n>', 'most invocations in flight at once').argParser(parsePositiveInteger))
    .addOption(new Option('--timeout <ms>', 'deadline of each invocation, in milliseconds').argParser(parsePositiveInteger))
    .addOption(new Option('--mode <mode>', 'how invocations return their results').choices(['auto', 'sync', 'async']))
    .option('--no-durable', 'keep results that come back in synchronous responses out of storage (cheaper; re-attaching runs those tasks again)')
    .option('-o, --output <file>', "write every outcome as JSON lines to this file ('-' for stdout)")
    .option('--label <text>', 'label shown by fanout jobs (default: module#export)')
    .addOption(new Option('--budget <usd>', 'stop dispatching before the projected cost passes this many US dollars').argParser(parseDollars))
    .option('--estimate', 'print the estimated cost per lane and in total, and run nothing else')
    .addOption(new Option('--task-ms <ms>', 'how long one task runs, for --estimate (default: measured on a sample of 3 inputs)').argParser(parseMilliseconds))
    .option('--json', 'print the final job statistics as JSON on stdout')
    .option('-q, --quiet', 'no progress and no summary (failures still print)')
    .showHelpAfterError("(run 'fanout run --help' for usage)")
    .addHelpText('after', EXAMPLES)
    .action(async (module: string, exportName: string, options: RunOptions, command: Command) => {
      context.exitCode = await runCommand(module, exportName, options, command, context);
    });
}

async function runCommand(module: string, exportName: string, options: RunOptions, command: Command, context: CommandContext): Promise<number> {
  const { io } = context;
  if (options.json && options.output === '-') {
    throw new UsageError('--json and --output - would both write to stdout; send the results to a file instead.');
  }
  const modulePath = resolveTaskModule(module, io.cwd);
  // Inputs are read before connecting, so a typo in the file fails at once and touches no backend.
  const inputs = await readInputs(options.inputs, io);
  if (inputs.length === 0) return reportNoInputs(options, context);

  return withExecutor(io, globalOptionsOf(command), async (executor) => {
    if (options.estimate) {
      const estimate = await executor.estimate({ module: modulePath, exportName }, inputs, {
        ...(options.taskMs !== undefined ? { taskDurationMs: options.taskMs } : {}),
        ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.mode !== undefined ? { mode: options.mode } : {}),
      });
      io.stdout.write(options.json ? `${JSON.stringify(estimate, null, 2)}\n` : formatEstimate(estimate));
      return ExitCode.success;
    }
    const job = await executor.map({ module: modulePath, exportName }, inputs, {
      ...(options.budget !== undefined ? { budgetUsd: options.budget } : {}),
      ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.timeout !== undefined ? { timeoutMs: options.timeout } : {}),
      ...(options.mode !== undefined ? { mode: options.mode } : {}),
      // Only the flag's negative form means anything; without it the configured default holds.
      ...(options.durable === false ? { durable: false } : {}),
      label: options.label ?? `${basename(modulePath)}#${exportName}`,
    });
    if (!options.quiet) {
      // A job that keeps results out of storage cannot be re-attached without running them again.
      const reattach = options.durable === false ? 'results that come back in responses are not stored' : `re-attach with: fanout results ${job.id}`;
      io.stderr.write(`job ${job.id} started (${plural(job.size, 'task')}); ${reattach}\n`);
    }
    return reportJob(job, io, options);
  });
}

/** An absolute path (core may resolve against another directory than ours), checked up front. */
function resolveTaskModule(module: string, cwd: string): string {
  const path = module.startsWith('file:') ? fileURLToPath(module) : resolve(cwd, module);
  if (!existsSync(path)) throw new UsageError(`Task module ${module} does not exist (looked for ${path}).`);
  return path;
}

/** No inputs is a valid, empty job: the answer is an empty list, not an error. */
async function reportNoInputs(options: RunOptions, context: CommandContext): Promise<number> {
  const { io } = context;
  if (!options.quiet) io.stderr.write(`no inputs in ${options.inputs}: nothing to run.\n`);
  if (options.output !== undefined && options.output !== '-') await writeFile(resolve(io.cwd, options.output), '');
  else if (options.output === undefined && !options.json) io.stdout.write('[]\n');
  return ExitCode.success;
}
