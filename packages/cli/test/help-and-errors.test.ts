import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TASKS_MODULE, temporaryProject } from './cli-harness.js';

const SLOW = 60_000;
const BINARY = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

describe('help, usage mistakes and configuration errors', () => {
  let project: Awaited<ReturnType<typeof temporaryProject>>;

  beforeAll(async () => {
    project = await temporaryProject({ 'tasks.mjs': TASKS_MODULE, 'numbers.json': '[1, 2]', 'three.json': '[2, 3]' });
  });
  afterAll(() => project.remove());

  const commandOptions: Record<string, string[]> = {
    run: ['--inputs', '--chunk-size', '--concurrency', '--timeout', '--mode', '--output', '--json', '--quiet', '--backend', '--storage', '--profile', '--config', '--lanes', '--budget', '--estimate', '--task-ms'],
    results: ['--output', '--json', '--quiet'],
    status: ['--json', '--lanes'],
    jobs: ['--limit', '--json'],
    hello: ['--json'],
    clean: ['--older-than', '--all', '--yes'],
  };

  for (const [command, options] of Object.entries(commandOptions)) {
    it(`'${command} --help' lists its options and shows examples`, async () => {
      const run = await runCli(project.cwd, [command, '--help']);
      expect(run.exitCode).toBe(0);
      for (const option of options) expect(run.stdout).toContain(option);
      expect(run.stdout).toContain(`Examples:\n  $ fanout ${command}`);
    });
  }

  it('--version prints the package version', async () => {
    const run = await runCli(project.cwd, ['--version']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("an unknown command or option is commander's error, a pointer to --help, and exit code 2", async () => {
    const command = await runCli(project.cwd, ['launch']);
    expect(command.exitCode).toBe(2);
    expect(command.stderr).toMatch(/unknown command 'launch'[\s\S]*fanout --help/);
    const option = await runCli(project.cwd, ['jobs', '--colour']);
    expect(option.exitCode).toBe(2);
    expect(option.stderr).toMatch(/unknown option '--colour'[\s\S]*fanout jobs --help/);
    const bare = await runCli(project.cwd, []);
    expect(bare.exitCode).toBe(2);
    expect(bare.stderr).toContain('Usage: fanout');
  });

  it('a misspelt key in the config file is exit code 2 and the message names the key', async () => {
    const misconfigured = await temporaryProject({ 'fanout.config.json': JSON.stringify({ compute: 'local', defualts: { chunkSize: 2 } }) });
    try {
      const run = await runCli(misconfigured.cwd, ['jobs']);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/defualts: is not a known setting/);
      expect(run.stderr).not.toMatch(/^error CONFIG_INVALID/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await misconfigured.remove();
    }
  }, SLOW);

  it('--config names a file to read, and a missing one is a configuration error', async () => {
    const run = await runCli(project.cwd, ['--config', 'absent.config.json', 'jobs']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/absent\.config\.json does not exist/);
  });

  it('an unknown --backend is ADAPTER_NOT_FOUND, exit code 2, with a hint about the flag', async () => {
    const run = await runCli(project.cwd, ['jobs', '--backend', 'nowhere-cloud']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error ADAPTER_NOT_FOUND: .*nowhere-cloud/);
    expect(run.stderr).toMatch(/hint: --backend/);
  }, SLOW);

  it('an unknown profile names the profiles there are; --verbose adds the stack', async () => {
    const run = await runCli(project.cwd, ['jobs', '--profile', 'staging', '--verbose']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/Profile "staging" is not defined/);
    expect(run.stderr).toMatch(/\n\s+at /);
  });

  it('the built binary prints its help as a child process', async () => {
    expect(existsSync(BINARY), 'run npx tsc -b first').toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, [BINARY, '--help'], { env: { PATH: process.env.PATH } });
    expect(stdout).toContain('Usage: fanout [options] [command]');
    for (const command of ['run', 'results', 'status', 'jobs', 'hello', 'clean']) expect(stdout).toContain(`  ${command} `);
  });

  it('the built binary sets the exit code of a failed job after shutting the pool down', async () => {
    const child = promisify(execFile)(process.execPath, [BINARY, 'run', 'tasks.mjs', 'failOnMultiplesOfThree', '--inputs', 'three.json', '-q'], {
      cwd: project.cwd,
      env: { PATH: process.env.PATH },
    });
    // Regression: the pool's unreferenced children let Node exit with 13 (unsettled top-level await).
    await expect(child).rejects.toMatchObject({ code: 1 });
  }, SLOW);
});
