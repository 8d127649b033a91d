import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import { loadConfig } from './load-config.js';

async function folderWith(files: Record<string, string>): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'fanout-config-'));
  for (const [name, contents] of Object.entries(files)) await writeFile(join(folder, name), contents);
  return folder;
}

async function configError(promise: Promise<unknown>): Promise<FanoutError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(FanoutError.isInstance(error, ErrorCode.CONFIG_INVALID)).toBe(true);
  return error as FanoutError;
}

describe('loadConfig', () => {
  it('defaults to the local backend for compute and storage with no configuration at all', async () => {
    const cwd = await folderWith({});
    const config = await loadConfig({}, { cwd, env: {} });
    expect(config.compute.backend).toBe('local');
    expect(config.storage.backend).toBe('local');
    expect(config.prefix).toBe('fanout');
    expect(config.configFile).toBeUndefined();
  });

  it('names a misspelled key in a config file, with the file it is in', async () => {
    const cwd = await folderWith({ 'fanout.config.json': JSON.stringify({ compute: 'local', defaults: { concurency: 4 } }) });
    const error = await configError(loadConfig({}, { cwd, env: {} }));
    expect(error.message).toContain('defaults.concurency');
    expect(error.message).toContain('fanout.config.json');
  });

  it('names a wrongly typed value', async () => {
    const cwd = await folderWith({});
    const error = await configError(loadConfig({ defaults: { timeoutMs: 'soon' as never } }, { cwd, env: {} }));
    expect(error.message).toContain('defaults.timeoutMs');
  });

  it('reads a TypeScript config file and applies the chosen profile over its top level', async () => {
    const cwd = await folderWith({
      'fanout.config.ts': `
        const concurrency: number = 3;
        export default {
          prefix: 'base',
          defaults: { concurrency },
          profiles: { ci: { prefix: 'ci-runs', defaults: { chunkSize: 7 } } },
        };`,
    });
    const config = await loadConfig({}, { cwd, env: { FANOUT_PROFILE: 'ci' } });
    expect(config.prefix).toBe('ci-runs');
    expect(config.defaults.concurrency).toBe(3);
    expect(config.defaults.chunkSize).toBe(7);
    expect(config.profile).toBe('ci');
  });

  it('layers code over environment over file', async () => {
    const cwd = await folderWith({ 'fanout.config.json': JSON.stringify({ prefix: 'file', defaults: { concurrency: 2 } }) });
    const config = await loadConfig(
      { prefix: 'code' },
      { cwd, env: { FANOUT_PREFIX: 'environment', FANOUT_CONCURRENCY: '5', FANOUT_COMPUTE: 'local', FANOUT_COMPUTE_OPTIONS: '{"workers":1}' } },
    );
    expect(config.prefix).toBe('code');
    expect(config.defaults.concurrency).toBe(5);
    expect(config.compute.options).toEqual({ workers: 1 });
  });

  it('refuses an unknown FANOUT_ variable by name, so a typo is never silently ignored', async () => {
    const cwd = await folderWith({});
    const error = await configError(loadConfig({}, { cwd, env: { FANOUT_CONCURENCY: '4' } }));
    expect(error.message).toContain('FANOUT_CONCURENCY');
  });

  it('refuses a profile that is not defined and lists the ones that are', async () => {
    const cwd = await folderWith({ 'fanout.config.json': JSON.stringify({ profiles: { dev: {} } }) });
    const error = await configError(loadConfig({ profile: 'prod' }, { cwd, env: {} }));
    expect(error.message).toContain('"prod"');
    expect(error.message).toContain('dev');
  });

  it('refuses FANOUT_COMPUTE_OPTIONS that is not a JSON object, naming the variable', async () => {
    const cwd = await folderWith({});
    const error = await configError(loadConfig({}, { cwd, env: { FANOUT_COMPUTE: 'local', FANOUT_COMPUTE_OPTIONS: '{workers: 4}' } }));
    expect(error.message).toContain('FANOUT_COMPUTE_OPTIONS');
  });

  it('refuses a non-integer FANOUT_CONCURRENCY naming the variable', async () => {
    const cwd = await folderWith({});
    const error = await configError(loadConfig({}, { cwd, env: { FANOUT_CONCURRENCY: 'many' } }));
    expect(error.message).toContain('FANOUT_CONCURRENCY');
  });

  it('reads FANOUT_DURABLE as true or false, durable by default, and refuses anything else by name', async () => {
    const cwd = await folderWith({});
    expect((await loadConfig({}, { cwd, env: {} })).defaults.durable).toBe(true);
    expect((await loadConfig({}, { cwd, env: { FANOUT_DURABLE: 'false' } })).defaults.durable).toBe(false);
    const error = await configError(loadConfig({}, { cwd, env: { FANOUT_DURABLE: 'no' } }));
    expect(error.message).toContain('FANOUT_DURABLE');
  });

  it('names the line and column of a syntax error in a JSON config file', async () => {
    const cwd = await folderWith({ 'fanout.config.json': '{\n  "compute": "local",\n  "prefix": "runs",\n}\n' });
    const error = await configError(loadConfig({}, { cwd, env: {} }));
    expect(error.message).toContain(join(cwd, 'fanout.config.json'));
    expect(error.message).toContain('line 4, column 1: unexpected "}"');
  });

  it('refuses a FANOUT_PREFIX that is not a relative key prefix at connect, naming the setting and the variable', async () => {
    const cwd = await folderWith({});
    for (const prefix of ['../..', '/srv/fanout', 'team\\fanout', 'team//fanout', 'a/./b']) {
      const error = await configError(connect({}, { cwd, env: { FANOUT_PREFIX: prefix } }));
      expect(error.message, prefix).toContain('prefix (FANOUT_PREFIX)');
      expect(error.message, prefix).toContain(JSON.stringify(prefix));
      expect(error.message, prefix).toMatch(/such as "fanout" or "team-a\/fanout"/);
    }
  });

  it('refuses a bad prefix in code or in a profile, naming where it is', async () => {
    const cwd = await folderWith({});
    expect((await configError(loadConfig({ prefix: '../up' }, { cwd, env: {} }))).message).toMatch(/^Invalid configuration in the configuration passed to connect\(\):\n  prefix: /);
    const inProfile = await configError(loadConfig({ profile: 'ci', profiles: { ci: { prefix: '/abs' } } }, { cwd, env: {} }));
    expect(inProfile.message).toContain('profiles.ci.prefix: ');
  });

  it('accepts a prefix of several names, one with a trailing "/", and none at all', async () => {
    const cwd = await folderWith({});
    expect((await loadConfig({ prefix: 'team-a/fanout' }, { cwd, env: {} })).prefix).toBe('team-a/fanout');
    expect((await loadConfig({ prefix: 'runs/' }, { cwd, env: {} })).prefix).toBe('runs');
    expect((await loadConfig({ prefix: '' }, { cwd, env: {} })).prefix).toBe('');
  });

  it('names the variable of any refused FANOUT_ value', async () => {
    const cwd = await folderWith({});
    const error = await configError(loadConfig({}, { cwd, env: { FANOUT_TIMEOUT_MS: '5' } }));
    expect(error.message).toContain('defaults.timeoutMs (FANOUT_TIMEOUT_MS)');
  });
});
