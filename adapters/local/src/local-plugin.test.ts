import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import plugin, { LocalCompute, localPlugin, LocalStorage } from './index.js';

const context = { configPath: 'storage.options', baseDirectory: join(tmpdir(), 'project') };
const computeContext = (storage: LocalStorage | undefined) => ({
  configPath: 'compute.options',
  baseDirectory: context.baseDirectory,
  storage: storage ?? new LocalStorage({ root: join(tmpdir(), 'unused') }),
  storageReference: storage?.reference,
});

function configError(run: () => unknown): FanoutError {
  try {
    run();
  } catch (error) {
    expect(FanoutError.isInstance(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as FanoutError).fault).toBe('caller');
    return error as FanoutError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('local plugin', () => {
  it('is the default export, a v1 plugin named "local" that can be imported from another process', () => {
    expect(plugin).toBe(localPlugin);
    expect(plugin).toMatchObject({ specificationVersion: 'v1', name: 'local', module: '@fanout/adapter-local' });
  });

  it('creates storage under .fanout/storage of the base directory by default, or under the given root', () => {
    expect(plugin.createStorage(undefined, context).root).toBe(resolve(context.baseDirectory, '.fanout/storage'));
    expect(plugin.createStorage({}, context).root).toBe(resolve(context.baseDirectory, '.fanout/storage'));
    expect(plugin.createStorage({ root: 'data' }, context).root).toBe(resolve(context.baseDirectory, 'data'));
    expect(plugin.createStorage({ root: '/srv/fanout' }, context).reference).toEqual({
      module: '@fanout/adapter-local',
      options: { root: '/srv/fanout' },
    });
  });

  it('names the offending key and says how to fix it', () => {
    expect(configError(() => plugin.createStorage({ rot: 'x' }, context)).message).toContain('storage.options.rot');
    expect(configError(() => plugin.createStorage({ root: '' }, context)).message).toContain('storage.options.root');
    expect(configError(() => plugin.createStorage({ root: 5 }, context)).message).toContain('storage.options.root');
    expect(configError(() => plugin.createStorage('data', context)).message).toContain('storage.options must be an object');
    const storage = new LocalStorage({ root: join(tmpdir(), 'unused') });
    const workers = configError(() => plugin.createCompute({ workers: 0 }, computeContext(storage)));
    expect(workers.message).toContain('compute.options.workers');
    expect(configError(() => plugin.createCompute({ workers: 2.5 }, computeContext(storage))).message).toContain('compute.options.workers');
    expect(configError(() => plugin.createCompute({ memoryMb: 2 ** 40 }, computeContext(storage))).message).toContain('compute.options.memoryMb');
    expect(configError(() => plugin.createCompute({ timeoutMs: 5 }, computeContext(storage))).message).toContain('compute.options.timeoutMs');
  });

  it('refuses an env option that is neither a list of names nor an object of names and values, saying how to write it', () => {
    const storage = new LocalStorage({ root: join(tmpdir(), 'unused') });
    const message = (env: unknown) => configError(() => plugin.createCompute({ env }, computeContext(storage))).message;
    expect(message('AWS_REGION')).toMatch(/^compute\.options\.env must be a list of variable names to pass through .*\["DATABASE_URL"\].*\{ "DEBUG": "app", "DATABASE_URL": true \}.*got "AWS_REGION"/);
    expect(message(['PATH', 5])).toMatch(/^compute\.options\.env\[1\] must be the name of an environment variable .*got 5\./);
    expect(message(['A=b'])).toMatch(/^compute\.options\.env\[0\] .*"A=b".*object form/);
    expect(message([''])).toContain('compute.options.env[0]');
    expect(message({ THREADS: 4 })).toMatch(/^compute\.options\.env\.THREADS must be a string \(the value to set\) or true .*Write it as a string: "4"\./);
    expect(message({ DEBUG: null })).toMatch(/^compute\.options\.env\.DEBUG .*got null\. To leave the variable out, remove the entry\./);
    expect(message({ HOME: false })).toMatch(/^compute\.options\.env\.HOME .*HOME is one of the variables every worker gets; it can be given another value, not removed\./);
    expect(message({ 'BAD NAME': 'x' })).toMatch(/^compute\.options\.env has a key that is not an environment variable name: "BAD NAME" holds/);
    expect(message({ A: 'x\0y' })).toMatch(/^compute\.options\.env\.A contains a NUL character/);
    expect(message(new Map())).toContain('compute.options.env must be a list');
  });

  it('accepts env as a list of names or an object of names and values, as JSON can write them (FANOUT_COMPUTE_OPTIONS)', async () => {
    const storage = new LocalStorage({ root: join(tmpdir(), 'unused') });
    const options = JSON.parse('[{"env":["AWS_REGION","DATABASE_URL"]},{"env":{"DEBUG":"app","AWS_REGION":true}},{"env":[]},{"env":{}}]') as unknown[];
    const pools = options.map((option) => plugin.createCompute(option, computeContext(storage)));
    expect(pools.every((pool) => pool instanceof LocalCompute)).toBe(true);
    await Promise.all(pools.map((pool) => pool.dispose()));
  });

  it('sizes the pool from the options and declares it in its capabilities', async () => {
    const storage = new LocalStorage({ root: join(tmpdir(), 'unused') });
    const compute = plugin.createCompute({ workers: 3, memoryMb: 512 }, computeContext(storage));
    expect(compute).toBeInstanceOf(LocalCompute);
    expect(compute.capabilities).toMatchObject({
      syncInvoke: true,
      asyncInvoke: true,
      maxConcurrency: 3,
      defaultConcurrency: 3,
      maxMemoryMb: 512,
      classifiesFailures: true,
    });
    // Work on the user's own machine is billed by nobody: declared zeros, so costs are known.
    expect(compute.capabilities.prices).toEqual({ perInvocationUsd: 0, perGbSecondUsd: 0 });
    expect(storage.capabilities.prices).toEqual({ perWriteUsd: 0, perReadUsd: 0, egressPerGbUsd: 0 });
    const defaults = plugin.createCompute(undefined, computeContext(storage));
    expect(defaults.workers).toBe(availableParallelism());
    expect(defaults.memoryMb).toBe(2048);
    await Promise.all([compute.dispose(), defaults.dispose()]);
  });

  it('refuses compute without a storage its child processes can reopen', () => {
    const error = configError(() => plugin.createCompute({}, computeContext(undefined)));
    expect(error.message).toContain('child processes');
  });
});
