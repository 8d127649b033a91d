import type { Command } from 'commander';
import { globalOptionsOf, type CommandContext } from '../command-context.js';
import { withExecutor } from '../connection.js';
import { formatDuration, plural } from '../format.js';
import { ExitCode } from '../output.js';

const EXAMPLES = `
Examples:
  $ fanout hello
  $ fanout hello --backend aws
  $ fanout hello --profile staging --json

Runs a few tiny built-in tasks on the configured compute backend, through the configured
storage, and reports where they ran and how long they took. Use it after changing the
configuration, before a real job. Exit code 0 when every task answered, 1 otherwise.`;

export function registerHelloCommand(program: Command, context: CommandContext): void {
  program
    .command('hello')
    .description('Smoke-test the configured backend: run tiny tasks and report where and how fast.')
    .option('--json', 'print the result as JSON on stdout')
    .showHelpAfterError("(run 'fanout hello --help' for usage)")
    .addHelpText('after', EXAMPLES)
    .action(async (options: { json?: boolean }, command: Command) => {
      const { io } = context;
      context.exitCode = await withExecutor(io, globalOptionsOf(command), async (executor) => {
        const { configFile, profile } = executor.config;
        const source = configFile ? `${configFile}${profile ? `, profile ${profile}` : ''}` : 'no configuration file (defaults)';
        if (!options.json) io.stderr.write(`configuration: ${source}\n`);
        const report = await executor.hello();
        if (options.json) {
          io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        } else {
          io.stdout.write(
            `${report.ok ? 'ok' : 'FAILED'}: ran ${plural(report.tasks, 'task')} on compute backend ${report.backend} with storage ${report.storage} in ${formatDuration(report.wallMs)} (${plural(report.coldStarts, 'cold start')}).\n`,
          );
        }
        return report.ok ? ExitCode.success : ExitCode.failure;
      });
    });
}
