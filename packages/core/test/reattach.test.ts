import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { laneObjectFolders, twoLocalLanes } from './fixtures/two-lanes.js';

const taskCount = 30;

function runCounts(log: string): Map<number, number> {
  const counts = new Map<number, number>();
  if (!existsSync(log)) return counts;
  for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  return counts;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('re-attaching after the client died', () => {
  // The padded job's inputs (about 2 MB) are over the local backend's inline threshold, so its
  // invocations read them from the job object, and re-attaching reads only its manifest.
  it.each([
    { inputs: 'small inputs, sent inline', padBytes: 0, lanes: 1 },
    { inputs: 'inputs read from the job object', padBytes: 64 * 1024, lanes: 1 },
    { inputs: 'small inputs, over two lanes with a storage each', padBytes: 0, lanes: 2 },
  ])('returns every result after SIGKILL without re-running tasks that had finished ($inputs)', async ({ padBytes, lanes }) => {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-reattach-'));
    const log = join(cwd, 'runs.log');
    const laneArgument = lanes === 2 ? ['two-lanes'] : [];
    const client = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/killable-client.ts'), cwd, log, String(taskCount), String(padBytes), ...laneArgument], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    client.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor(() => /job (\S+)/.test(output), 30_000);
    const jobId = /job (\S+)/.exec(output)![1]!;
    const config = lanes === 2 ? { lanes: twoLocalLanes } : { compute: { backend: 'local', options: { workers: 2 } } };
    const fanout = await connect(config, { cwd, configFile: false, env: {} });
    try {
      // Kill the client once at least 10 tasks have their record: a task logs its run just before
      // it returns, before the record is written, so the run log alone may count one too many.
      const folders = (lanes === 2 ? laneObjectFolders : ['.fanout/storage/objects']).map((folder) => join(cwd, folder, fanout.layout.resultsPrefix(jobId)));
      const records = () => folders.flatMap((folder) => (existsSync(folder) ? readdirSync(folder) : []));
      await waitFor(() => records().length >= 10, 30_000);
      client.kill('SIGKILL');
      await new Promise((resolve) => client.once('exit', resolve));
      expect(output).not.toContain('finished');

      // Let workers orphaned by the kill notice and exit, then see what had finished.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const finishedBefore = records().map((name) => Number(name.split('-')[0]));
      // Over two lanes, each lane's store holds some of the records.
      if (lanes === 2) for (const folder of folders) expect(existsSync(folder) && readdirSync(folder).length, `records in ${folder}`).toBeGreaterThan(0);
      const statsBefore = await fanout.inspect(jobId);
      expect(statsBefore.tasks.succeeded).toBe(finishedBefore.length);
      expect(statsBefore.tasks.succeeded).toBeGreaterThanOrEqual(10);
      expect(statsBefore.tasks.pending).toBeGreaterThan(0);

      const job = await fanout.attach<number>(jobId);
      const results = await job.results();
      expect(results).toEqual(Array.from({ length: taskCount }, (_, index) => index * 10));
      const counts = runCounts(log);
      // Every task ran; a task whose record existed before re-attaching ran exactly once.
      expect(counts.size).toBe(taskCount);
      for (const index of finishedBefore) expect(counts.get(index), `task ${index}`).toBe(1);
      const { invocations, storage } = job.stats();
      // Attempts recorded in storage before, plus one per task that had not finished.
      expect(invocations.attempts - invocations.backups).toBe(statsBefore.invocations.attempts + taskCount - statsBefore.tasks.succeeded);
      // Whole-object reads: one per record adopted, plus the job object only where inputs go inline.
      const adopted = statsBefore.tasks.succeeded;
      expect(storage.client.get - adopted, 'job object reads').toBe(padBytes === 0 ? 1 : 0);
      expect(job.stats().lanes.map((lane) => lane.name)).toEqual(lanes === 2 ? ['one', 'two'] : ['local']);
      expect(storage.worker.getRange > 0, 'workers read inputs from the job object').toBe(padBytes > 0);
    } finally {
      await fanout.dispose();
    }
  });

  it('names a job that does not exist', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-reattach-'));
    const fanout = await connect({}, { cwd, configFile: false, env: {} });
    try {
      await expect(fanout.attach('20260101-000000-00000000')).rejects.toMatchObject({ code: ErrorCode.JOB_NOT_FOUND });
    } finally {
      await fanout.dispose();
    }
  });
});
