import { CommanderError } from 'commander';
import { ErrorCode, FanoutError } from '@fanout/spec';
import type { OutputStream } from './cli-io.js';
import { plural } from './format.js';
import { UsageError } from './usage-error.js';

/** Exit codes, stable: scripts branch on them. */
export const ExitCode = {
  /** Everything ran and every task succeeded. */
  success: 0,
  /** The command ran but something failed: a task, the backend, or the smoke test. */
  failure: 1,
  /** Nothing ran because of what was typed or configured: options, config, inputs, job id. */
  usage: 2,
  /** Stopped by Ctrl-C, as shells report for SIGINT (128 + 2). */
  interrupted: 130,
} as const;

/** Failures printed in full before the rest are only counted: past ten, more detail is noise. */
export const FAILURES_SHOWN = 10;

/** Log lines shown per failure; the full tail is in `--output`. */
const LOG_TAIL_LINES_SHOWN = 20;

/**
 * A caller-fault `FanoutError` (bad config, missing export, unknown job) means nothing ran
 * because of the request itself, which is what exit code 2 promises scripts.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.success : ExitCode.usage;
  if (UsageError.isInstance(error)) return ExitCode.usage;
  if (FanoutError.isInstance(error)) {
    if (error.code === ErrorCode.JOB_CANCELLED || error.code === ErrorCode.ABORTED) return ExitCode.interrupted;
    return error.fault === 'caller' ? ExitCode.usage : ExitCode.failure;
  }
  // Core throws TypeError for bad arguments, which from the command line are what the user typed.
  if (error instanceof TypeError) return ExitCode.usage;
  return ExitCode.failure;
}

/**
 * Print an error that ended a command. Stacks are for `--verbose` only: a user who mistyped a
 * config key needs the key, not our call chain. Configuration messages already name the key and
 * file, so they print as they are.
 */
export function printError(error: unknown, stream: OutputStream, options: { verbose: boolean }): void {
  if (FanoutError.isInstance(error)) {
    stream.write(error.code === ErrorCode.CONFIG_INVALID ? `${error.message}\n` : `error ${error.code}: ${error.message}\n`);
    if (error.remoteStack || error.logTail) stream.write(formatRemoteDetails(error));
    const hint = hintFor(error);
    if (hint) stream.write(`${hint}\n`);
  } else if (UsageError.isInstance(error)) {
    stream.write(`error: ${error.message}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    stream.write(`error: ${message}\n`);
    if (!options.verbose) stream.write('(run again with --verbose to see the stack)\n');
  }
  if (options.verbose) stream.write(formatStackChain(error));
}

/** Core's messages already say what to do; hints only add what it cannot know, such as our flags. */
function hintFor(error: FanoutError): string | undefined {
  if (error.code === ErrorCode.ADAPTER_NOT_FOUND) {
    return 'hint: --backend names the compute backend and --storage the storage backend; both replace the configured ones.';
  }
  return undefined;
}

/**
 * A failed task: index, code, remote name and message, then the remote stack and log tail
 * indented. The name is that of what the task threw, so it is shown for USER_CODE_ERROR only (the
 * worker's own verdicts, such as RESULT_NOT_SERIALIZABLE, are all named FanoutError), and left
 * out when the message already carries it ("Task 2 threw TypeError: ...").
 */
export function formatTaskFailure(index: number, error: FanoutError): string {
  const thrown = error.code === ErrorCode.USER_CODE_ERROR ? error.remoteName : undefined;
  const name = thrown && !error.message.includes(thrown) ? ` ${thrown}` : '';
  return `task ${index}: ${error.code}${name}: ${error.message}\n${formatRemoteDetails(error)}`;
}

/**
 * Print up to {@link FAILURES_SHOWN} failures in index order, then how many more there were.
 * Cancelled tasks are only counted: after Ctrl-C a list of identical lines helps nobody.
 */
export function printTaskFailures(failures: ReadonlyArray<{ index: number; error: FanoutError }>, stream: OutputStream): void {
  const cancelled = failures.filter(({ error }) => error.code === ErrorCode.JOB_CANCELLED).length;
  const real = failures.filter(({ error }) => error.code !== ErrorCode.JOB_CANCELLED).sort((a, b) => a.index - b.index);
  for (const { index, error } of real.slice(0, FAILURES_SHOWN)) stream.write(formatTaskFailure(index, error));
  if (real.length > FAILURES_SHOWN) {
    stream.write(`... and ${plural(real.length - FAILURES_SHOWN, 'more failed task')} (use --output to keep every error).\n`);
  }
  if (cancelled > 0) stream.write(`${plural(cancelled, 'task')} did not run: the job was cancelled.\n`);
}

function formatRemoteDetails(error: FanoutError): string {
  let text = '';
  const stackLines = remoteStackFrames(error);
  if (stackLines.length) text += stackLines.map((line) => `    ${line}\n`).join('');
  if (error.logTail?.trim()) {
    const lines = error.logTail.replace(/\n+$/, '').split('\n');
    const shown = lines.slice(-LOG_TAIL_LINES_SHOWN);
    text += `  log tail${shown.length < lines.length ? ` (last ${shown.length} lines)` : ''}:\n`;
    text += shown.map((line) => `    | ${line}\n`).join('');
  }
  return text;
}

/**
 * The remote stack's frames. Its header (the lines before the first `at`) is dropped when the
 * message already says the same, as it usually does, so the message is not printed twice.
 */
function remoteStackFrames(error: FanoutError): string[] {
  if (!error.remoteStack) return [];
  const lines = error.remoteStack.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  const firstFrame = lines.findIndex((line) => line.startsWith('at '));
  if (firstFrame <= 0) return lines;
  const header = lines.slice(0, firstFrame).join('\n');
  return error.message.includes(header) || header.endsWith(error.message) ? lines.slice(firstFrame) : lines;
}

function formatStackChain(error: unknown): string {
  let text = '';
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const stack = current instanceof Error ? (current.stack ?? String(current)) : String(current);
    text += depth === 0 ? `${stack}\n` : `caused by: ${stack}\n`;
    current = current instanceof Error ? current.cause : undefined;
  }
  return text;
}
