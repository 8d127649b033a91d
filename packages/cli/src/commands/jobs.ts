import type { Command } from 'commander';
import { globalOptionsOf, type CommandContext } from '../command-context.js';
import { withExecutor } from '../connection.js';
import { formatTable, formatTimestamp } from '../format.js';
import { parsePositiveInteger } from '../option-parsers.js';

/** Enough to find yesterday's job without flooding the terminal. */
const DEFAULT_LIMIT = 20;

const EXAMPLES = `
Examples:
  $ fanout jobs
  $ fanout jobs --limit 5
  $ fanout jobs --backend aws --json

Lists the jobs kept in the configured storage, newest first. DONE counts tasks that
finished, successfully or not. Follow up with 'fanout status <id>' or 'fanout results <id>'.`;

export function registerJobsCommand(program: Command, context: CommandContext): void {
  program
    .command('jobs')
    .description('List recent jobs kept in the configured storage, newest first.')
    .option('-n, --limit <n>', `how many jobs to list (default: ${DEFAULT_LIMIT})`, parsePositiveInteger)
    .option('--json', 'print the list as JSON on stdout')
    .showHelpAfterError("(run 'fanout jobs --help' for usage)")
    .addHelpText('after', EXAMPLES)
    .action(async (options: { limit?: number; json?: boolean }, command: Command) => {
      const { io } = context;
      await withExecutor(io, globalOptionsOf(command), async (executor) => {
        const jobs = await executor.jobs({ limit: options.limit ?? DEFAULT_LIMIT });
        if (options.json) {
          io.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
          return;
        }
        if (jobs.length === 0) {
          const { storage, prefix } = executor.config;
          io.stderr.write(`no jobs in storage ${storage.backend} under prefix ${prefix}/.\n`);
          return;
        }
        const readable = jobs.filter((job) => job.unreadable === undefined);
        const rows = readable.map((job) => [job.id, formatTimestamp(job.createdMs), job.label, job.taskCount, job.completedTasks]);
        if (rows.length) io.stdout.write(`${formatTable(['JOB', 'CREATED', 'LABEL', 'TASKS', 'DONE'], rows)}\n`);
        // Named on stderr, so that the table stays machine-readable.
        for (const job of jobs.filter((each) => each.unreadable !== undefined)) {
          io.stderr.write(`unreadable job object ${job.id}: ${job.unreadable} Delete it with \`fanout clean ${job.id}\`.\n`);
        }
      });
    });
}
