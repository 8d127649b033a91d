import { openDeployer, type FanoutConfig } from '@fanout/core';
import type { DeployerV1, DeploymentPlanV1, DeploymentStepV1 } from '@fanout/spec';
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.js';
import { globalOptionsOf, type CommandContext } from '../command-context.js';
import type { GlobalOptions } from '../connection.js';
import { formatTable, plural } from '../format.js';
import { ExitCode } from '../output.js';
import { confirm } from '../confirm.js';
import { UsageError } from '../usage-error.js';

type DeployOptions = { dryRun?: boolean; json?: boolean };
type DestroyOptions = DeployOptions & { yes?: boolean };

const DEPLOY_EXAMPLES = `
Examples:
  $ fanout deploy --dry-run                 show what would be created or changed
  $ fanout deploy                           create or update the runtime
  $ fanout deploy --profile prod --json     deploy a profile's backend, plan as JSON

Creates, once per account and region, what the configured compute backend invokes: on AWS
a role, a bucket with lifecycle rules, and the Lambda function running the generic worker.
Running it again changes only what differs from the configuration. Jobs never deploy.`;

const DESTROY_EXAMPLES = `
Examples:
  $ fanout destroy --dry-run                show what would be removed
  $ fanout destroy --yes                    remove it without asking

Removes what 'fanout deploy' created. A bucket that still holds objects is kept (and said
so); 'fanout clean --all' deletes fanout's own data first. Asks for confirmation on a
terminal, and needs --yes anywhere else.`;

/** Register `fanout deploy` and `fanout destroy`. */
export function registerDeployCommands(program: Command, context: CommandContext): void {
  program
    .command('deploy')
    .description('Create or update the runtime the configured compute backend invokes (idempotent).')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--json', 'print the plan (or what was done) as JSON on stdout')
    .showHelpAfterError("(run 'fanout deploy --help' for usage)")
    .addHelpText('after', DEPLOY_EXAMPLES)
    .action(async (options: DeployOptions, command: Command) => {
      context.exitCode = await withDeployer(context.io, globalOptionsOf(command), async (deployer, backend) => {
        const { io } = context;
        const log = (line: string) => void io.stderr.write(`${line}\n`);
        const plan = await interruptible(io, (signal) => (options.dryRun ? deployer.planDeploy({ signal }) : deployer.deploy({ log, signal })));
        printPlan(plan, io, options, options.dryRun ? `${backend}: deploy would make` : `${backend}: deploy made`);
        return ExitCode.success;
      });
    });

  program
    .command('destroy')
    .description("Remove what 'fanout deploy' created for the configured compute backend.")
    .option('--dry-run', 'print the plan and change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--json', 'print the plan (or what was done) as JSON on stdout')
    .showHelpAfterError("(run 'fanout destroy --help' for usage)")
    .addHelpText('after', DESTROY_EXAMPLES)
    .action(async (options: DestroyOptions, command: Command) => {
      context.exitCode = await withDeployer(context.io, globalOptionsOf(command), async (deployer, backend) => {
        const { io } = context;
        const plan = await interruptible(io, (signal) => deployer.planDestroy({ signal }));
        const removals = plan.steps.filter((step) => step.action === 'delete');
        if (options.dryRun || removals.length === 0) {
          printPlan(plan, io, options, `${backend}: destroy would make`);
          return ExitCode.success;
        }
        if (!options.yes) {
          const what = `${plural(removals.length, 'resource')} of the ${backend} backend (${removals.map((step) => `${step.resource} ${step.name}`).join(', ')})`;
          if (!(await confirm(`Remove ${what}?`, io))) {
            if (!io.stdin.isTTY) throw new UsageError(`This would remove ${what}; add --yes to confirm.`);
            io.stderr.write('nothing removed.\n');
            return ExitCode.success;
          }
        }
        const done = await interruptible(io, (signal) => deployer.destroy({ log: (line) => void io.stderr.write(`${line}\n`), signal }));
        printPlan(done, io, options, `${backend}: destroy made`);
        return ExitCode.success;
      });
    });
}

/**
 * Build the compute backend's deployer from the configuration, without connecting an executor
 * (there may be nothing deployed to connect to yet), run `use`, and release the deployer.
 */
async function withDeployer(io: CliIo, globals: GlobalOptions, use: (deployer: DeployerV1, backend: string) => Promise<number>): Promise<number> {
  const { backend, deployer } = await openDeployer(configFromGlobals(globals), {
    cwd: io.cwd,
    env: io.env,
    ...(globals.config !== undefined ? { configFile: globals.config } : {}),
  });
  if (!deployer) {
    io.stderr.write(`The ${backend} backend has nothing to deploy: it needs no runtime set up in advance.\n`);
    return ExitCode.success;
  }
  try {
    return await use(deployer, backend);
  } finally {
    await deployer.dispose?.();
  }
}

/**
 * Run with a signal that Ctrl-C aborts: the deployer stops between steps (and its SDK calls are
 * cancelled), and the command exits 130 with the resources done so far in place.
 */
async function interruptible<T>(io: CliIo, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const unsubscribe = io.onInterrupt(() => {
    io.stderr.write('stopping after the current step…\n');
    controller.abort();
  });
  try {
    return await run(controller.signal);
  } finally {
    unsubscribe();
  }
}

/** `--backend` and `--storage` replace the configured selection, as for every other command. */
function configFromGlobals(globals: GlobalOptions): FanoutConfig {
  const config: FanoutConfig = {};
  if (globals.profile !== undefined) config.profile = globals.profile;
  if (globals.backend !== undefined) config.compute = globals.backend;
  if (globals.storage !== undefined) config.storage = globals.storage;
  return config;
}

/** The plan as a table on stdout (or JSON), changes first counted on stderr. */
function printPlan(plan: DeploymentPlanV1, io: CliIo, options: DeployOptions, heading: string): void {
  if (options.json) {
    io.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
    return;
  }
  const changes = plan.steps.filter((step) => step.action !== 'keep').length;
  io.stderr.write(`${heading} ${changes === 0 ? 'no changes' : plural(changes, 'change')}.\n`);
  if (plan.steps.length === 0) return;
  io.stdout.write(`${formatTable(['action', 'resource', 'name', 'detail'], plan.steps.map((step: DeploymentStepV1) => [step.action, step.resource, step.name, step.detail ?? '']))}\n`);
}
