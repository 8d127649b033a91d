import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TASKS_MODULE, temporaryProject } from './cli-harness.js';

const SLOW = 60_000;

// Two lanes of the local backend, each with a storage folder of its own, as two clouds would have.
const CONFIG = {
  profiles: {
    near: { compute: { backend: 'local', options: { workers: 1 } }, storage: { backend: 'local', options: { root: 'near-storage' } } },
    far: { compute: { backend: 'local', options: { workers: 1 } }, storage: { backend: 'local', options: { root: 'far-storage' } } },
  },
};

describe('fanout over several lanes', () => {
  let project: Awaited<ReturnType<typeof temporaryProject>>;

  beforeAll(async () => {
    const inputs = Array.from({ length: 200 }, (_, index) => index);
    project = await temporaryProject({ 'tasks.mjs': TASKS_MODULE, 'numbers.json': JSON.stringify(inputs), 'fanout.config.json': JSON.stringify(CONFIG) });
  });
  afterAll(() => project.remove());

  it(
    'run --lanes runs one job over both profiles, and status prints a line per lane from both storages',
    async () => {
      const run = await runCli(project.cwd, ['--lanes', 'near,far', 'run', 'tasks.mjs', 'square', '--inputs', 'numbers.json', '--chunk-size', '5']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual(Array.from({ length: 200 }, (_, index) => index * index));
      // The last progress line counts the tasks of each lane.
      const counts = /progress: 200\/200 \(100%\).*; near (\d+), far (\d+)\n/.exec(run.stderr);
      expect(counts, run.stderr).not.toBeNull();
      expect(Number(counts![1]) + Number(counts![2])).toBe(200);
      expect(run.stderr).toMatch(/lane near: local\/local sync: \d+ tasks/);
      expect(run.stderr).toMatch(/lane far: local\/local sync: \d+ tasks/);
      const jobId = /^job (\S+) started/.exec(run.stderr)![1]!;

      const status = await runCli(project.cwd, ['--lanes', 'near,far', 'status', jobId]);
      expect(status.exitCode, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/200 total, 200 succeeded/);
      expect(status.stdout).toMatch(/cost +\$0\n/);
      // Each lane takes ranges as its slot frees: both take some (the first lane the first range).
      const tasksOf = (name: string) => Number(new RegExp(`lane ${name} +local/local sync: (\\d+) tasks`).exec(status.stdout)?.[1]);
      expect(tasksOf('near'), status.stdout).toBeGreaterThan(0);
      expect(tasksOf('far'), status.stdout).toBeGreaterThan(0);
      expect(tasksOf('near') + tasksOf('far')).toBe(200);

      // Without the far lane configured, its storage's records would be missed: refused, naming it.
      const partial = await runCli(project.cwd, ['--lanes', 'near', 'status', jobId]);
      expect(partial.exitCode).toBe(2);
      expect(partial.stderr).toMatch(/no lane far/);
    },
    SLOW,
  );

  it(
    'run --estimate prices the job per lane without running it; --budget on a free backend runs it all',
    async () => {
      const estimate = await runCli(project.cwd, ['--lanes', 'near,far', 'run', 'tasks.mjs', 'square', '--inputs', 'numbers.json', '--estimate', '--task-ms', '50']);
      expect(estimate.exitCode, estimate.stderr).toBe(0);
      expect(estimate.stdout).toMatch(/^estimate for 200 tasks, .* per task \(given\)\n/);
      expect(estimate.stdout).toMatch(/  lane near: \d+ tasks in \d+ invocations: compute \$0, storage \$0, total \$0\n/);
      expect(estimate.stdout).toMatch(/  lane far: /);
      expect(estimate.stdout).toMatch(/total \$0\n$/);

      const budget = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'numbers.json', '--budget', '0', '-q']);
      expect(budget.exitCode, budget.stderr).toBe(0);
      expect(JSON.parse(budget.stdout)).toHaveLength(200);
    },
    SLOW,
  );

  it('names the configured lanes when --lanes names one that is not there', async () => {
    const run = await runCli(project.cwd, ['--lanes', 'near,nowhere', 'run', 'tasks.mjs', 'square', '--inputs', 'numbers.json']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/nowhere/);
  });
});
