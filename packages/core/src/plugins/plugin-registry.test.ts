import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { connect } from '../connect.js';
import type { FanoutConfig } from '../config/config-schema.js';
import { PluginRegistry } from './plugin-registry.js';

const pluginSource = (name: string, version = 'v1') => `export default { specificationVersion: '${version}', name: '${name}', createStorage() {} };\n`;

async function projectWithPackage(packageName: string, source: string): Promise<string> {
  const project = await mkdtemp(join(tmpdir(), 'fanout-plugins-'));
  const folder = join(project, 'node_modules', packageName);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'package.json'), JSON.stringify({ name: packageName, type: 'module', exports: './index.js' }));
  await writeFile(join(folder, 'index.js'), source);
  return project;
}

describe('PluginRegistry', () => {
  it('loads a third-party adapter by package name from the user project, not from core', async () => {
    const project = await projectWithPackage('fanout-adapter-example', pluginSource('example'));
    const plugin = await new PluginRegistry([], project).get('fanout-adapter-example', 'storage');
    expect(plugin.name).toBe('example');
  });

  it('loads an adapter by path relative to the configuration', async () => {
    const project = await mkdtemp(join(tmpdir(), 'fanout-plugins-'));
    await writeFile(join(project, 'my-adapter.mjs'), pluginSource('mine'));
    expect((await new PluginRegistry([], project).get('./my-adapter.mjs', 'compute')).name).toBe('mine');
  });

  it('names a misspelled backend, suggests the nearest known name, lists only installed adapters, and never says to install the typo', async () => {
    const error = await new PluginRegistry([], tmpdir()).get('lcoal', 'compute').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.ADAPTER_NOT_FOUND });
    const message = (error as Error).message;
    expect(message).toMatch(/^compute names the backend "lcoal"/);
    expect(message).toContain('Did you mean "local"?');
    expect(message).toMatch(/Available: local\b/);
    expect(message, 'azure has no adapter yet').not.toMatch(/azure/);
    expect(message).not.toContain('npm install lcoal');
    expect(message).not.toContain('@fanout/adapter-lcoal');
  });

  it('suggests a plugin registered in "plugins" by its name, and lists it', async () => {
    const plugin = { specificationVersion: 'v1' as const, name: 'redis-store' };
    const error = await new PluginRegistry([plugin], tmpdir()).get('redis-stor', 'storage').catch((caught: unknown) => caught);
    expect((error as Error).message).toContain('Did you mean "redis-store"?');
    expect((error as Error).message).toMatch(/Available: .*redis-store \(in "plugins"\)/);
  });

  it('makes no suggestion for a name like no known one, and says how third-party adapters are installed', async () => {
    const error = await new PluginRegistry([], tmpdir()).get('nowhere-cloud', 'lanes.1.compute').catch((caught: unknown) => caught);
    const message = (error as Error).message;
    expect(message).toMatch(/^lanes\.1\.compute names the backend "nowhere-cloud"/);
    expect(message).not.toContain('Did you mean');
    expect(message).not.toContain('npm install nowhere-cloud');
    expect(message).toContain('"plugins"');
  });

  it('names a missing adapter file by its absolute path', async () => {
    const project = await mkdtemp(join(tmpdir(), 'fanout-plugins-'));
    const error = await new PluginRegistry([], project).get('./no-adapter.mjs', 'storage').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.ADAPTER_NOT_FOUND });
    expect((error as Error).message).toContain(`${join(project, 'no-adapter.mjs')} does not exist`);
  });

  it('reports an unknown backend against the setting that named it: compute, also when storage follows it, or storage', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-plugins-'));
    const options = { cwd, configFile: false as const, env: {} };
    const failure = (config: FanoutConfig, env: Record<string, string> = {}) =>
      connect(config, { ...options, env }).then(
        () => '',
        (error: Error) => error.message,
      );
    expect(await failure({ compute: { backend: 'lcoal' } })).toMatch(/^compute names the backend "lcoal"/);
    expect(await failure({ compute: 'local', storage: 'lcoal' })).toMatch(/^storage names the backend "lcoal"/);
    expect(await failure({}, { FANOUT_COMPUTE: 'lcoal' })).toMatch(/^compute \(FANOUT_COMPUTE\) names the backend "lcoal"/);
    expect(await failure({ lanes: ['local', { name: 'two', compute: 'lcoal' }] })).toMatch(/^lanes\.1\.compute names the backend "lcoal"/);
  });

  it('refuses an adapter of another specification version', async () => {
    const project = await projectWithPackage('fanout-adapter-future', pluginSource('future', 'v9'));
    await expect(new PluginRegistry([], project).get('fanout-adapter-future', 'storage')).rejects.toMatchObject({
      code: ErrorCode.SPECIFICATION_UNSUPPORTED,
    });
  });

  it('prefers a plugin passed in configuration, and refuses two with one name', () => {
    const plugin = { specificationVersion: 'v1' as const, name: 'twice' };
    expect(() => new PluginRegistry([plugin, plugin], tmpdir())).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });
});
