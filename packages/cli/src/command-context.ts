import type { Command } from 'commander';
import type { CliIo } from './cli-io.js';
import type { GlobalOptions } from './connection.js';

/** What every command's action gets: the outside world, and where to leave its exit code. */
export type CommandContext = {
  io: CliIo;
  /** Set by the action that ran; `main` returns it. Commander ignores action return values. */
  exitCode: number;
};

/** The program-level options as seen from a subcommand, wherever on the line they were typed. */
export function globalOptionsOf(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}
