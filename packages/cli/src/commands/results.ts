import type { Command } from 'commander';
import { globalOptionsOf, type CommandContext } from '../command-context.js';
import { withExecutor } from '../connection.js';
import { plural } from '../format.js';
import { reportJob } from '../job-report.js';
import { UsageError } from '../usage-error.js';

type ResultsOptions = { output?: string; json?: boolean; quiet?: boolean };

const EXAMPLES = `
Examples:
  $ fanout results 20261129-142307-4k2j9x
  $ fanout results 20261129-142307-4k2j9x --output results.jsonl
  $ fanout results 20261129-142307-4k2j9x --json > stats.json

Re-attaches to a job started by 'fanout run' (or by code), runs the tasks that have no
result yet, waits with progress, and prints the results as 'fanout run' does. Completed
tasks are not run again. 'fanout jobs' lists job ids.`;

export function registerResultsCommand(program: Command, context: CommandContext): void {
  program
    .command('results')
    .description('Re-attach to a job, finish its missing tasks, and print its results.')
    .argument('<id>', "job id, as printed by 'fanout run' and listed by 'fanout jobs'")
    .option('-o, --output <file>', "write every outcome as JSON lines to this file ('-' for stdout)")
    .option('--json', 'print the final job statistics as JSON on stdout')
    .option('-q, --quiet', 'no progress and no summary (failures still print)')
    .showHelpAfterError("(run 'fanout results --help' for usage)")
    .addHelpText('after', EXAMPLES)
    .action(async (jobId: string, options: ResultsOptions, command: Command) => {
      const { io } = context;
      if (options.json && options.output === '-') {
        throw new UsageError('--json and --output - would both write to stdout; send the results to a file instead.');
      }
      context.exitCode = await withExecutor(io, globalOptionsOf(command), async (executor) => {
        const job = await executor.attach(jobId);
        if (!options.quiet) io.stderr.write(`attached to job ${job.id} (${plural(job.size, 'task')})\n`);
        return reportJob(job, io, options);
      });
    });
}
