import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../cli-io.js';
import type { CommandContext } from '../command-context.js';
import { exitCodeFor, printError } from '../output.js';
import { registerDeployCommands } from './deploy.js';

// A plugin with a deployer that records what it was given and keeps its resources in memory.
const CONFIG = `
const state = globalThis.__fanoutDeployTest;
const steps = (action) => [
  { resource: 'role', name: 'runtime-role', action, detail: 'assumed by the platform only' },
  { resource: 'function', name: 'runtime', action },
];
export default {
  prefix: 'jobs-here',
  compute: { backend: 'fake', options: { size: 2 } },
  storage: { backend: 'fake', options: { bucket: 'b' } },
  plugins: [{
    specificationVersion: 'v1',
    name: 'fake',
    createStorage() { throw new Error('not used'); },
    createDeployer(options, context) {
      state.created.push({ options, context });
      return {
        async planDeploy() { return { steps: steps(state.deployed ? 'keep' : 'create') }; },
        async deploy({ log, signal }) {
          const plan = await this.planDeploy();
          log('creating role runtime-role…');
          state.interrupt?.();
          if (signal.aborted) throw Object.assign(new Error('aborted'), { [Symbol.for('fanout.error')]: true, code: 'ABORTED', fault: 'caller' });
          state.deployed = true;
          return plan;
        },
        async planDestroy() { return { steps: state.deployed ? steps('delete') : [] }; },
        async destroy() { const plan = await this.planDestroy(); state.deployed = false; return plan; },
        dispose() { state.disposed += 1; },
      };
    },
  }],
};
`;

type TestState = {
  created: Array<{ options: unknown; context: Record<string, unknown> }>;
  deployed: boolean;
  disposed: number;
  /** Press Ctrl-C in the middle of a deploy. */
  interrupt?: () => void;
};
let cwd: string;
let state: TestState;

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'fanout-cli-deploy-'));
  await writeFile(join(cwd, 'fanout.config.mjs'), CONFIG);
  state = { created: [], deployed: false, disposed: 0 };
  (globalThis as { __fanoutDeployTest?: TestState }).__fanoutDeployTest = state;
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

/** Run `fanout <argv>` with only the deploy commands registered, as main() runs the full program. */
async function run(argv: string[], stdin: Partial<CliIo['stdin']> = Readable.from([]), onInterrupt: CliIo['onInterrupt'] = () => () => undefined): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: stdin as CliIo['stdin'],
    cwd,
    env: {},
    onInterrupt,
  };
  const context: CommandContext = { io, exitCode: 0 };
  const program = new Command('fanout')
    .option('--config <file>')
    .option('--profile <name>')
    .option('--backend <name>')
    .option('--storage <name>')
    .option('--verbose')
    .exitOverride()
    .configureOutput({ writeOut: (text) => void (stdout += text), writeErr: (text) => void (stderr += text) });
  registerDeployCommands(program, context);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return { exitCode: context.exitCode, stdout, stderr };
  } catch (error) {
    if (!(error instanceof CommanderError)) printError(error, io.stderr, { verbose: false });
    return { exitCode: exitCodeFor(error), stdout, stderr };
  }
}

describe('fanout deploy and destroy', () => {
  it('--dry-run prints the plan and changes nothing', async () => {
    const result = await run(['deploy', '--dry-run']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/action\s+resource\s+name\s+detail/);
    expect(result.stdout).toMatch(/create\s+role\s+runtime-role\s+assumed by the platform only/);
    expect(result.stderr).toContain('fake: deploy would make 2 changes.');
    expect(state.deployed).toBe(false);
    expect(state.disposed).toBe(1);
  });

  it('hands the deployer the compute and storage options, the prefix and where the options sit', async () => {
    await run(['deploy', '--dry-run']);
    expect(state.created[0]).toEqual({
      options: { compute: { size: 2 }, storage: { bucket: 'b' } },
      context: expect.objectContaining({
        prefix: 'jobs-here',
        computeConfigPath: 'compute.options',
        storageConfigPath: 'storage.options',
        baseDirectory: cwd,
      }),
    });
  });

  it('deploys with progress on stderr, and a second deploy has nothing to change', async () => {
    const first = await run(['deploy']);
    expect(first.exitCode).toBe(0);
    expect(first.stderr).toContain('creating role runtime-role…');
    expect(state.deployed).toBe(true);
    const second = await run(['deploy', '--json']);
    expect(JSON.parse(second.stdout).steps.every((step: { action: string }) => step.action === 'keep')).toBe(true);
  });

  it('destroy asks for --yes where nobody can answer, and removes with it', async () => {
    await run(['deploy']);
    const refused = await run(['destroy']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('add --yes to confirm');
    expect(state.deployed).toBe(true);
    const dry = await run(['destroy', '--dry-run']);
    expect(dry.stdout).toMatch(/delete\s+function\s+runtime/);
    expect(state.deployed).toBe(true);
    const done = await run(['destroy', '--yes']);
    expect(done.exitCode).toBe(0);
    expect(state.deployed).toBe(false);
    expect((await run(['destroy'])).stderr).toContain('destroy would make no changes');
  });

  it('destroy asks on a terminal and does nothing without a yes', async () => {
    await run(['deploy']);
    const terminal = Object.assign(Readable.from(['n\n']), { isTTY: true });
    const result = await run(['destroy'], terminal);
    expect(result.stderr).toContain('Remove 2 resources of the fake backend (role runtime-role, function runtime)? [y/N]');
    expect(result.stderr).toContain('nothing removed.');
    expect(state.deployed).toBe(true);
  });

  it('stops a deploy on Ctrl-C and exits 130', async () => {
    const result = await run(['deploy'], Readable.from([]), (handler) => {
      state.interrupt = handler;
      return () => (state.interrupt = undefined);
    });
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('stopping after the current step');
    expect(state.deployed).toBe(false);
    expect(state.disposed).toBe(1);
  });

  it('says so when the backend has nothing to deploy, and exits 2 for an unknown backend', async () => {
    await writeFile(join(cwd, 'fanout.config.mjs'), "export default { compute: 'local' };");
    const local = await run(['deploy']);
    expect(local).toMatchObject({ exitCode: 0 });
    expect(local.stderr).toContain('The local backend has nothing to deploy');
    const unknown = await run(['--backend', 'nimbus', 'deploy']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('ADAPTER_NOT_FOUND');
  });
});
