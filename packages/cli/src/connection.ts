import { connect, type Executor, type FanoutConfig } from '@fanout/core';
import type { CliIo } from './cli-io.js';

/** Options every command takes, declared once on the program. */
export type GlobalOptions = {
  config?: string;
  profile?: string;
  backend?: string;
  storage?: string;
  verbose?: boolean;
};

/**
 * Connect with the global options layered over the configuration, run `use`, and dispose the
 * executor whatever happens: a local pool left running would keep the process alive.
 *
 * `--backend` and `--storage` name a backend only, so they replace the configured selection
 * together with its options; backends that need options belong in a profile (`--profile`).
 */
export async function withExecutor<T>(io: CliIo, globals: GlobalOptions, use: (executor: Executor) => Promise<T>): Promise<T> {
  const config: FanoutConfig = {};
  if (globals.profile !== undefined) config.profile = globals.profile;
  if (globals.backend !== undefined) config.compute = globals.backend;
  if (globals.storage !== undefined) config.storage = globals.storage;
  const executor = await connect(config, {
    cwd: io.cwd,
    env: io.env,
    ...(globals.config !== undefined ? { configFile: globals.config } : {}),
  });
  let result: T;
  try {
    result = await use(executor);
  } catch (error) {
    // The command's own error is the one worth reporting; a second one from cleanup would hide it.
    await disposeWithDeadline(executor).catch(() => undefined);
    throw error;
  }
  await disposeWithDeadline(executor);
  return result;
}

/** Longest wait for the backends to shut down before the command returns anyway. */
const DISPOSE_DEADLINE_MS = 10_000;

/**
 * Dispose while holding the event loop open. The local pool's children are unreferenced so an
 * idle pool never keeps a process alive; but then nothing keeps the loop alive while `dispose`
 * waits for them to exit, Node finds the loop empty with the promise still pending, and the
 * binary ended with exit code 13 (unsettled top-level await) instead of the command's code.
 * The deadline keeps a backend that never finishes disposing from hanging the command.
 */
async function disposeWithDeadline(executor: Executor): Promise<void> {
  let deadline: NodeJS.Timeout | undefined;
  const timedOut = new Promise<void>((resolve) => {
    deadline = setTimeout(resolve, DISPOSE_DEADLINE_MS);
  });
  try {
    await Promise.race([executor.dispose(), timedOut]);
  } finally {
    clearTimeout(deadline);
  }
}
