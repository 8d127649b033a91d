import { isJobId, JOB_ID_FORM } from '@fanout/core';
import { Option, type Command } from 'commander';
import { confirm } from '../confirm.js';
import { globalOptionsOf, type CommandContext } from '../command-context.js';
import { withExecutor } from '../connection.js';
import { formatDuration, parseDuration, plural } from '../format.js';
import { parseDurationOption } from '../option-parsers.js';
import { UsageError } from '../usage-error.js';

type CleanOptions = { olderThan?: number; all?: boolean; yes?: boolean };

const EXAMPLES = `
Examples:
  $ fanout clean 20261129-142307-4k2j9x
  $ fanout clean --older-than 7d
  $ fanout clean --older-than 12h --yes
  $ fanout clean --all --yes

Deletes job data (the job object with its inputs, and the result records) from the
configured storage. Naming job ids deletes those jobs; --older-than selects by age; --all
deletes everything under the prefix, code bundles included. --older-than and --all ask
for confirmation on a terminal, and need --yes anywhere else.
Durations: a number and a unit, ms, s, m, h, d or w (30m, 12h, 7d, 2w).`;

export function registerCleanCommand(program: Command, context: CommandContext): void {
  program
    .command('clean')
    .description('Delete the stored data of jobs, by id, by age, or all of them.')
    .argument('[ids...]', 'ids of the jobs to delete')
    .addOption(new Option('--older-than <duration>', 'delete jobs created longer ago than this, such as 7d, 12h or 30m').argParser(parseDurationOption))
    .addOption(new Option('--all', 'delete everything under the configured prefix, code bundles included').conflicts('olderThan'))
    .option('-y, --yes', 'do not ask for confirmation')
    .showHelpAfterError("(run 'fanout clean --help' for usage)")
    .addHelpText('after', EXAMPLES)
    .action(async (jobIds: string[], options: CleanOptions, command: Command) => {
      await cleanCommand(jobIds, options, command, context);
    });
}

async function cleanCommand(jobIds: string[], options: CleanOptions, command: Command, context: CommandContext): Promise<void> {
  const { io } = context;
  const byId = jobIds.length > 0;
  if (!byId && options.olderThan === undefined && !options.all) {
    throw new UsageError(
      "Nothing selected to clean: name job ids, or pass --older-than <duration> (such as 7d) or --all. 'fanout jobs' lists the jobs.",
    );
  }
  // Ids together with a criterion could mean "these and those" or "these if old": refuse to guess.
  if (byId && (options.olderThan !== undefined || options.all)) {
    throw new UsageError(`Name job ids or use ${options.all ? '--all' : '--older-than'}, not both.`);
  }
  // Checked before connecting: a mistyped argument would otherwise match nothing and pass for done.
  for (const argument of jobIds) assertJobIdArgument(argument);

  await withExecutor(io, globalOptionsOf(command), async (executor) => {
    if (!byId && !options.yes) {
      const { storage, prefix } = executor.config;
      const what = options.all
        ? `every job in storage ${storage.backend} under prefix ${prefix}/`
        : `every job older than ${formatDuration(options.olderThan!)} in storage ${storage.backend} under prefix ${prefix}/`;
      if (!(await confirm(`Delete ${what}?`, io))) {
        if (!io.stdin.isTTY) throw new UsageError(`This would delete ${what}; add --yes to confirm.`);
        io.stderr.write('nothing deleted.\n');
        return;
      }
    }
    const result = await executor.clean(
      byId ? { jobIds } : options.all ? { all: true } : { olderThanMs: options.olderThan! },
    );
    if (result.jobs.length === 0) {
      io.stdout.write('nothing deleted: no job matched.\n');
    } else {
      io.stdout.write(`deleted ${plural(result.jobs.length, 'job')} (${plural(result.deletedObjects, 'object')}):\n`);
      io.stdout.write(result.jobs.map((id) => `  ${id}\n`).join(''));
    }
    const missing = jobIds.filter((id) => !result.jobs.includes(id));
    if (missing.length) io.stderr.write(`not found (already deleted?): ${missing.join(', ')}\n`);
  });
}

/** Refuse an argument that cannot name a job, saying what clean takes instead. */
function assertJobIdArgument(argument: string): void {
  if (isJobId(argument)) return;
  const instead =
    parseDuration(argument) !== undefined
      ? `To delete the jobs created longer ago than that, run: fanout clean --older-than ${argument}`
      : "fanout clean takes job ids ('fanout jobs' lists them), --older-than <duration> (such as 7d), or --all";
  throw new UsageError(`${JSON.stringify(argument)} is not a job id: ${JOB_ID_FORM}. ${instead}.`);
}
