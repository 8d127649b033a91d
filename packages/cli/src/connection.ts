import { connect, type Executor, type FanoutConfig } from '@fanout/core';
import type { CliIo } from './cli-io.js';

/** Options every command takes, declared once on the program. */
export type GlobalOptions = {
  config?: string;
  profile?: string;
  backend?: string;
  storage?: string;
  /** Lanes to run over: profile or backend names. */
  lanes?: string[];
  verbose?: boolean;
};

/**
 * Connect with the global options layered over the configuration, run `use`, and dispose the
 * executor whatever happens: a local pool left running would keep the process alive.
 *
 * `--backend` and `--storage` name a backend only, so they replace the configured selection
 * together with its options; backends that need options belong in a profile (`--profile`).
 * `--lanes` names profiles or backends, each one lane of the job.
 */
export async function withExecutor<T>(io: CliIo, globals: GlobalOptions, use: (executor: Executor) => Promise<T>): Promise<T> {
  const config: FanoutConfig = {};
  if (globals.profile !== undefined) config.profile = globals.profile;
  if (globals.backend !== undefined) config.compute = globals.backend;
  if (globals.storage !== undefined) config.storage = globals.storage;
  if (globals.lanes !== undefined) config.lanes = globals.lanes;
  const executor = await connect(config, {
    cwd: io.cwd,
    env: io.env,
    ...(globals.config !== undefined ? { configFile: globals.config } : {}),
  });
  try {
    return await use(executor);
  } finally {
    await executor.dispose();
  }
}
