import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { emptyRequestCounts, totalRequests } from '@fanout/worker';
import { describe, expect, it } from 'vitest';
import { connect } from '../src/index.js';
import { sleep } from './fixtures/tasks.js';
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

  it('refuses what is not a job id with a FanoutError naming it and the form of job ids', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-reattach-'));
    const fanout = await connect({}, { cwd, configFile: false, env: {} });
    try {
      for (const id of ['../x', 'not-an-id', '20260101-000000-00000000/../../y']) {
        const error = await fanout.attach(id).catch((caught: unknown) => caught);
        expect(FanoutError.isInstance(error, ErrorCode.JOB_NOT_FOUND), `attach(${JSON.stringify(id)}) rejects with JOB_NOT_FOUND (got ${String(error)})`).toBe(true);
        expect((error as Error).message).toContain(JSON.stringify(id));
        expect((error as Error).message).toMatch(/job ids look like \d{8}-\d{6}-[0-9a-f]{8}/);
        await expect(fanout.inspect(id)).rejects.toMatchObject({ code: ErrorCode.JOB_NOT_FOUND });
      }
    } finally {
      await fanout.dispose();
    }
  });
});

describe('the statistics of a stored job', () => {
  const local = { compute: { backend: 'local', options: { workers: 2 } } };

  it('inspect() of a finished job reports the wall time its records show, the same at every look, and not its own reads as the job requests', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-inspect-'));
    const fanout = await connect(local, { cwd, configFile: false, env: {} });
    try {
      const job = await fanout.map(sleep, Array.from({ length: 8 }, () => 40), { chunkSize: 1 });
      await job.results();
      const ran = job.stats();
      const first = await fanout.inspect(job.id);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const second = await fanout.inspect(job.id);

      expect(second.timings.wallMs, 'wall time at the second look').toBe(first.timings.wallMs);
      expect(first.timings.wallMs).toBeGreaterThanOrEqual(40);
      expect(first.timings.wallMs, 'no longer than the run itself measured').toBeLessThanOrEqual(ran.timings.wallMs);
      // The inspection's own reads (manifest, listing, records) are reported apart, not as the job's.
      expect(first.storage.client).toEqual(emptyRequestCounts());
      expect(first.storage.totalRequests).toBe(totalRequests(ran.storage.worker));
      expect(first.storage.requestsPerTask).toBeCloseTo(ran.storage.requestsPerTask, 6);
      expect(first.storage.inspection?.get, 'records read by the inspection').toBe(8);
      expect(second.storage).toEqual(first.storage);
      expect(second.costUsd).toBe(first.costUsd);
    } finally {
      await fanout.dispose();
    }
  });

  it('attach() counts the time the job ran, not the time no client was running it', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'fanout-reattach-wall-'));
    const first = await connect(local, { cwd, configFile: false, env: {} });
    const job = await first.map(sleep, Array.from({ length: 16 }, () => 30), { chunkSize: 1 });
    await job.wait({ until: 0.25 });
    // The first client is lost: it stops, and writes nothing on the way out.
    await job.cancel();
    await first.dispose();
    const deadMs = 2000;
    await new Promise((resolve) => setTimeout(resolve, deadMs));

    const second = await connect(local, { cwd, configFile: false, env: {} });
    try {
      const attached = await second.attach<number>(job.id);
      expect(await attached.results()).toHaveLength(16);
      const { wallMs } = attached.stats().timings;
      expect(wallMs, 'the 16 tasks of 30 ms on 2 workers, before and after').toBeGreaterThanOrEqual(30);
      expect(wallMs, `without the ${deadMs} ms no client ran it`).toBeLessThan(deadMs);
      expect((await second.inspect(job.id)).state).toBe('succeeded');
    } finally {
      await second.dispose();
    }
  });
});
