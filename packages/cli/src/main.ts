import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { completeIo, type CliIo } from './cli-io.js';
import type { CommandContext } from './command-context.js';
import { registerCleanCommand } from './commands/clean.js';
import { registerConformanceCommand } from './commands/conformance.js';
import { registerDeployCommands } from './commands/deploy.js';
import { registerHelloCommand } from './commands/hello.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerResultsCommand } from './commands/results.js';
import { registerRunCommand } from './commands/run.js';
import { registerStatusCommand } from './commands/status.js';
import { parseLaneList } from './option-parsers.js';
import { ExitCode, exitCodeFor, printError } from './output.js';

// The same relative path from src/ (tests) and dist/ (the installed binary).
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

const PROGRAM_HELP = `
Examples:
  $ fanout hello                                       check the configured backend
  $ fanout run ./tasks.ts square --inputs numbers.json
  $ fanout run ./tasks.ts square --inputs numbers.json --lanes aws,local
  $ fanout run ./tasks.ts square --inputs numbers.json --estimate --task-ms 200
  $ fanout jobs
  $ fanout status <id>
  $ fanout results <id> --output results.jsonl
  $ fanout clean --older-than 7d --yes
  $ fanout deploy --backend aws --dry-run              what deploying the runtime would change

Configuration comes from fanout.config.{ts,mts,js,mjs,json} in the working directory (or
--config), then FANOUT_* environment variables, then the options above. With none at all,
jobs run on the local cores and keep their data in .fanout/storage.

Exit codes: 0 success, 1 a task or the backend failed, 2 a usage or configuration mistake,
130 cancelled with Ctrl-C. Run 'fanout <command> --help' for a command's options.`;

/**
 * Run the `fanout` command line in-process and return its exit code. `argv` excludes the node
 * and script paths. `io` replaces the process's streams, directory and environment, for tests
 * and for embedding.
 */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const context: CommandContext = { io: completeIo(io), exitCode: ExitCode.success };
  const program = createProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    // Commander has already printed its own message (or the help, or the version).
    if (!(error instanceof CommanderError)) {
      printError(error, context.io.stderr, { verbose: program.opts<{ verbose?: boolean }>().verbose === true });
    }
    return exitCodeFor(error);
  }
}

/** The program with every command. Settings are made before `command()` so subcommands inherit them. */
export function createProgram(context: CommandContext): Command {
  const { io } = context;
  const program = new Command('fanout')
    .description('Map a function over many inputs, on the local cores or on cloud functions.')
    .version(version, '-V, --version', 'print the version of fanout')
    .option('--config <file>', 'configuration file (default: fanout.config.* in the working directory)')
    .option('--profile <name>', 'configuration profile to use')
    .option('--backend <name>', 'compute backend, such as local or aws (replaces the configured one and its options)')
    .option('--storage <name>', "storage backend (default: the configured one, else the compute backend's)")
    .addOption(new Option('--lanes <names>', 'run over several lanes: comma-separated profile or backend names, such as aws,local').argParser(parseLaneList))
    .option('--verbose', 'print the stack of an error')
    .helpOption('-h, --help', 'show help')
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      getOutHelpWidth: () => io.stdout.columns ?? 80,
      getErrHelpWidth: () => io.stderr.columns ?? 80,
      getOutHasColors: () => false,
      getErrHasColors: () => false,
    })
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .showHelpAfterError("(run 'fanout --help' for usage)")
    .addHelpText('after', PROGRAM_HELP);

  registerRunCommand(program, context);
  registerResultsCommand(program, context);
  registerStatusCommand(program, context);
  registerJobsCommand(program, context);
  registerHelloCommand(program, context);
  registerCleanCommand(program, context);
  registerDeployCommands(program, context);
  registerConformanceCommand(program, context);
  return program;
}
