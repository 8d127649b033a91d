import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
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

  it('names a misspelled backend and lists the built-in ones', async () => {
    const error = await new PluginRegistry([], tmpdir()).get('lcoal', 'compute').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.ADAPTER_NOT_FOUND });
    expect((error as Error).message).toContain('"lcoal"');
    expect((error as Error).message).toContain('local, aws, gcp, azure');
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
