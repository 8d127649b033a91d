import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Executor } from '../src/index.js';
import { sleep } from './fixtures/tasks.js';

let fanout: Executor;

beforeAll(async () => {
  const cwd = await mkdtemp(join(tmpdir(), 'fanout-bundling-'));
  fanout = await connect({ compute: { backend: 'local', options: { workers: 2 } } }, { cwd, configFile: false, env: {} });
});

afterAll(async () => {
  await fanout?.dispose();
});

const fixture = (name: string) => join(import.meta.dirname, 'fixtures/unbundleable', name);

describe('code that cannot be shipped is refused on the client, before anything runs', () => {
  it('names a package that is not installed', async () => {
    const error = await fanout.map({ module: fixture('missing-package.ts'), exportName: 'useMissing' }, [1]).catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.BUNDLE_FAILED)).toBe(true);
    expect((error as Error).message).toContain('a-package-that-is-not-installed');
    expect((error as Error).message).toContain('install the package');
  });

  it('explains that a native addon cannot travel', async () => {
    const error = await fanout.map({ module: fixture('native-addon.ts'), exportName: 'useAddon' }, [1]).catch((caught: unknown) => caught);
    expect(FanoutError.isInstance(error, ErrorCode.BUNDLE_FAILED)).toBe(true);
    expect((error as Error).message).toContain('addon.node');
    expect((error as Error).message).toContain('native addon');
  });
});

describe('job control', () => {
  it('cancel stops the job and fails pending tasks with JOB_CANCELLED', async () => {
    const job = await fanout.map(sleep, Array.from({ length: 20 }, () => 200), { chunkSize: 1 });
    await job.wait({ until: 'any' });
    await job.cancel();
    const settled = await job.settled({ timeoutMs: 5000 });
    const cancelled = settled.filter((result) => !result.ok && result.error.code === ErrorCode.JOB_CANCELLED);
    expect(cancelled.length).toBeGreaterThan(10);
    expect(job.stats().state).toBe('cancelled');
  });

  it('wait gives up with WAIT_TIMEOUT while the job goes on', async () => {
    const job = await fanout.map(sleep, [1500], { chunkSize: 1 });
    await expect(job.wait({ timeoutMs: 100 })).rejects.toMatchObject({ code: ErrorCode.WAIT_TIMEOUT });
    expect(await job.results()).toEqual([1500]);
  });

  it('call runs one task', async () => {
    const job = await fanout.call(sleep, 5);
    expect(await job.results()).toEqual([5]);
  });
});
