import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load-config.js';

const noFile = { configFile: false as const, env: {} };

describe('lanes in the configuration', () => {
  it('is one lane of compute and storage when no lanes are configured', async () => {
    const config = await loadConfig({ compute: 'local' }, noFile);
    expect(config.lanes).toEqual([expect.objectContaining({ name: 'local', weight: 1, compute: expect.objectContaining({ backend: 'local' }), storage: expect.objectContaining({ backend: 'local' }) })]);
  });

  it('reads a name as a profile when one is defined, else as a backend whose storage follows it', async () => {
    const config = await loadConfig(
      {
        lanes: ['cloud', 'local', { name: 'big', compute: { backend: 'local', options: { workers: 4 } }, weight: 3, concurrency: 8, mode: 'sync', memoryMb: 512 }],
        profiles: { cloud: { compute: { backend: 'aws', options: { functionName: 'f' } }, storage: { backend: 'aws', options: { bucket: 'b' } } } },
      },
      noFile,
    );
    expect(config.lanes.map((lane) => [lane.name, lane.compute.backend, lane.storage.backend])).toEqual([
      ['cloud', 'aws', 'aws'],
      ['local', 'local', 'local'],
      ['big', 'local', 'local'],
    ]);
    expect(config.lanes[0]!.storage.options).toEqual({ bucket: 'b' });
    expect(config.lanes[2]).toMatchObject({ weight: 3, concurrency: 8, mode: 'sync', compute: { options: { workers: 4, memoryMb: 512 } } });
    // The first lane stands for the configuration's compute and storage (deploy, hello).
    expect(config.compute.backend).toBe('aws');
  });

  it('is one lane again when a backend is chosen above the layer that set the lanes', async () => {
    const config = await loadConfig({ compute: 'local' }, { configFile: false, env: { FANOUT_LANES: 'local,other' } });
    expect(config.lanes.map((lane) => lane.name)).toEqual(['local']);
    const both = await loadConfig({ compute: 'other', lanes: ['local', 'other'] }, noFile);
    expect(both.lanes.map((lane) => lane.name), 'lanes and a backend in one layer: the lanes').toEqual(['local', 'other']);
  });

  it('takes FANOUT_LANES as a comma-separated list', async () => {
    const config = await loadConfig({}, { configFile: false, env: { FANOUT_LANES: 'local, other' } });
    expect(config.lanes.map((lane) => lane.name)).toEqual(['local', 'other']);
  });

  it('refuses two lanes of one name, naming both and how to fix it', async () => {
    const error = await loadConfig({ lanes: ['local', { compute: 'local' }] }, noFile).catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.CONFIG_INVALID)).toBe(true);
    expect((error as Error).message).toMatch(/lanes\.1 is named "local" like lanes\.0; give one of them a "name"/);
  });

  it('refuses a lane with no compute backend and one naming an undefined profile', async () => {
    await expect(loadConfig({ lanes: [{ name: 'x', weight: 2 }] }, noFile)).rejects.toThrow(/lanes\.0 has no compute backend/);
    await expect(loadConfig({ lanes: [{ profile: 'nope' }] }, noFile)).rejects.toThrow(/lanes\.0 names profile "nope", which is not defined/);
  });

  it('names the offending key of a malformed lane', async () => {
    await expect(loadConfig({ lanes: [{ compute: 'local', weight: 0 }] } as never, noFile)).rejects.toThrow(/lanes\.0\.weight/);
    await expect(loadConfig({ lanes: [] }, noFile)).rejects.toThrow(/lanes/);
  });
});
