import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, temporaryProject } from './cli-harness.js';

const bin = resolve(import.meta.dirname, '../dist/bin.js');
const taskCount = 24;

/** A task module that appends every run's input to `log`, so the test can count runs per task. */
function tasksModule(log: string): string {
  return `
import { appendFileSync } from 'node:fs';
export async function logged(value) {
  await new Promise((resolve) => setTimeout(resolve, 120));
  appendFileSync(${JSON.stringify(log)}, value + '\\n');
  return value * 3;
}
`;
}

function runsByTask(log: string): Map<number, number> {
  const counts = new Map<number, number>();
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  return counts;
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('fanout results after the client was killed', () => {
  it('returns every result without re-running tasks that had finished', async () => {
    const project = await temporaryProject({
      'inputs.json': JSON.stringify(Array.from({ length: taskCount }, (_, index) => index)),
    });
    try {
      const log = join(project.cwd, 'runs.log');
      await writeFile(join(project.cwd, 'tasks.mjs'), tasksModule(log));

      const client = spawn(process.execPath, [bin, 'run', 'tasks.mjs', 'logged', '--inputs', 'inputs.json', '--chunk-size', '1'], {
        cwd: project.cwd,
        env: { PATH: process.env.PATH },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      client.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      await until(() => /\b(\d{8}-\d{6}-[0-9a-f]{8})\b/.test(output), 30_000);
      const jobId = /\b(\d{8}-\d{6}-[0-9a-f]{8})\b/.exec(output)![1]!;
      // At least 8 records (the run log is written just before a task returns, before its record).
      const records = join(project.cwd, '.fanout/storage/objects/fanout/results', jobId);
      await until(() => existsSync(records) && readdirSync(records).length >= 8, 30_000);
      client.kill('SIGKILL');
      await new Promise((resolve) => client.once('exit', resolve));
      // Give the orphaned workers a moment to notice their parent is gone and exit.
      await new Promise((resolve) => setTimeout(resolve, 300));

      const status = await runCli(project.cwd, ['status', jobId, '--json']);
      const before = JSON.parse(status.stdout) as { tasks: { succeeded: number; pending: number } };
      expect(before.tasks.pending).toBeGreaterThan(0);
      const finishedBefore = new Map(runsByTask(log));

      const results = await runCli(project.cwd, ['results', jobId]);
      expect(results.exitCode).toBe(0);
      expect(JSON.parse(results.stdout)).toEqual(Array.from({ length: taskCount }, (_, index) => index * 3));

      const after = runsByTask(log);
      expect(after.size).toBe(taskCount);
      // Only a task that had run but not yet written its record when the client died may run
      // twice; every task with a record before re-attaching ran exactly once.
      const extraRuns = [...after.values()].reduce((sum, runs) => sum + runs, 0) - taskCount;
      expect(extraRuns).toBeLessThanOrEqual(finishedBefore.size - before.tasks.succeeded);
      expect(before.tasks.succeeded).toBeGreaterThanOrEqual(8);
    } finally {
      await project.remove();
    }
  });
});
