import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TASKS_MODULE, temporaryProject } from './cli-harness.js';

const SLOW = 60_000;

describe('fanout jobs, status, results, clean and hello', () => {
  let project: Awaited<ReturnType<typeof temporaryProject>>;
  let jobId: string;
  let runSummaryRequestsPerTask: number;

  beforeAll(async () => {
    project = await temporaryProject({ 'tasks.mjs': TASKS_MODULE, 'numbers.json': JSON.stringify([1, 2, 3, 4, 5, 6]) });
    const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'numbers.json', '--label', 'squares']);
    expect(run.exitCode).toBe(0);
    jobId = /^job (\S+) started/.exec(run.stderr)![1]!;
    runSummaryRequestsPerTask = Number(/([\d.]+) storage requests per task/.exec(run.stderr)![1]);
  }, SLOW);
  afterAll(() => project.remove());

  it('status --json prints exactly one JSON document with tasks, invocations and storage requests by kind', async () => {
    const run = await runCli(project.cwd, ['status', jobId, '--json']);
    expect(run.exitCode).toBe(0);
    const stats = JSON.parse(run.stdout);
    expect(stats.jobId).toBe(jobId);
    expect(stats.state).toBe('succeeded');
    expect(stats.tasks).toEqual({ total: 6, succeeded: 6, failed: 0, pending: 0 });
    for (const key of ['planned', 'attempts', 'succeeded', 'retried', 'backups', 'duplicates', 'throttled', 'coldStarts']) {
      expect(typeof stats.invocations[key]).toBe('number');
    }
    for (const side of ['client', 'worker']) {
      for (const kind of ['get', 'getRange', 'head', 'put', 'create', 'list', 'delete', 'bytesRead', 'bytesWritten']) {
        expect(typeof stats.storage[side][kind]).toBe('number');
      }
    }
    expect(stats.storage.totalRequests).toBeGreaterThan(0);
    expect(run.stderr).toBe('');
  }, SLOW);

  it('status without --json summarises the job for people', async () => {
    const run = await runCli(project.cwd, ['status', jobId]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain(`${jobId}: succeeded`);
    expect(run.stdout).toMatch(/tasks\s+6 total, 6 succeeded, 0 failed, 0 pending/);
    expect(run.stdout).toMatch(/workers\s+get \d+, getRange \d+/);
    expect(run.stdout).toMatch(/this status\s+get \d+, getRange \d+/);
  }, SLOW);

  it('status shows the same wall time and storage figures at every look, and its own reads apart, labelled', async () => {
    const first = JSON.parse((await runCli(project.cwd, ['status', jobId, '--json'])).stdout);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = JSON.parse((await runCli(project.cwd, ['status', jobId, '--json'])).stdout);
    expect(second.timings.wallMs).toBe(first.timings.wallMs);
    expect(second.storage).toEqual(first.storage);
    expect(first.storage.client.get + first.storage.client.getRange + first.storage.client.list, "the status command's reads are not the job's").toBe(0);
    expect(first.storage.inspection.list).toBeGreaterThan(0);
    expect(first.storage.requestsPerTask).toBeCloseTo(runSummaryRequestsPerTask, 2);
    const text = (await runCli(project.cwd, ['status', jobId])).stdout;
    expect(text).toMatch(/\n {2}this status +get \d+, getRange \d+, head 0, put 0, create 0, list \d+, delete 0; .* \(reading the job; not counted above\)\n/);
    expect(text).toMatch(/\n {2}client +not kept in storage/);
  }, SLOW);

  it('status of an unknown job is JOB_NOT_FOUND with exit code 2', async () => {
    const run = await runCli(project.cwd, ['status', '20000101-000000-00000000']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error JOB_NOT_FOUND: /);
  }, SLOW);

  it('jobs lists the job with its label and task counts', async () => {
    const table = await runCli(project.cwd, ['jobs']);
    expect(table.exitCode).toBe(0);
    expect(table.stdout).toMatch(/^JOB\s+CREATED\s+LABEL\s+TASKS\s+DONE\n/);
    expect(table.stdout).toMatch(new RegExp(`${jobId}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+squares\\s+6\\s+6`));
    const json = await runCli(project.cwd, ['jobs', '--json', '--limit', '1']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ id: jobId, label: 'squares', taskCount: 6, completedTasks: 6 })]);
  }, SLOW);

  it('results re-attaches and prints the values as run does', async () => {
    const run = await runCli(project.cwd, ['results', jobId]);
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([1, 4, 9, 16, 25, 36]);
    expect(run.stderr).toContain(`attached to job ${jobId} (6 tasks)`);
  }, SLOW);

  it('run of a single input says "1 task", not "1 tasks"', async () => {
    const single = await temporaryProject({ 'tasks.mjs': TASKS_MODULE, 'one.json': JSON.stringify([7]) });
    try {
      const run = await runCli(single.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'one.json']);
      expect(run.exitCode).toBe(0);
      expect(run.stderr).toMatch(/^job \S+ started \(1 task\);/m);
    } finally {
      await single.remove();
    }
  }, SLOW);

  it('hello runs tasks on the local backend and says where and how long', async () => {
    const run = await runCli(project.cwd, ['hello']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/^ok: ran \d+ tasks on compute backend local with storage local in \d/);
    expect(run.stderr).toContain('no configuration file');
  }, SLOW);

  it('clean refuses to guess: no selection, or --all without --yes off a terminal, is exit code 2', async () => {
    const nothing = await runCli(project.cwd, ['clean']);
    expect(nothing.exitCode).toBe(2);
    expect(nothing.stderr).toMatch(/Nothing selected to clean/);
    const unconfirmed = await runCli(project.cwd, ['clean', '--all']);
    expect(unconfirmed.exitCode).toBe(2);
    expect(unconfirmed.stderr).toMatch(/add --yes to confirm/);
    const badDuration = await runCli(project.cwd, ['clean', '--older-than', 'soon']);
    expect(badDuration.exitCode).toBe(2);
    expect(badDuration.stderr).toMatch(/--older-than <duration>.*'soon' is invalid/);
  }, SLOW);

  it('clean refuses an argument that is not a job id with exit code 2, naming it and the forms it takes', async () => {
    for (const argument of ['not-an-id', '../x']) {
      const run = await runCli(project.cwd, ['clean', argument]);
      expect(run.exitCode, argument).toBe(2);
      expect(run.stderr).toContain(`"${argument}" is not a job id`);
      expect(run.stderr).toMatch(/job ids look like \d{8}-\d{6}-[0-9a-f]{8}/);
      expect(run.stderr).toContain('--older-than <duration>');
      expect(run.stderr).toContain('--all');
    }
    const duration = await runCli(project.cwd, ['clean', '7d']);
    expect(duration.exitCode).toBe(2);
    expect(duration.stderr).toContain('fanout clean --older-than 7d');
    // Nothing was deleted on the way.
    expect((await runCli(project.cwd, ['status', jobId])).exitCode).toBe(0);
  }, SLOW);

  it('clean <id> deletes the job and says so; it is then gone', async () => {
    const spared = await runCli(project.cwd, ['clean', '--older-than', '1d', '--yes']);
    expect(spared.stdout).toBe('nothing deleted: no job matched.\n');
    // Copies of the job's objects that were set aside as corrupt go with it; another job's stay.
    const corrupt = join(project.cwd, '.fanout', 'storage', 'objects', 'fanout', 'corrupt');
    const copies = [join(corrupt, 'results', jobId, '0000000000-000006.20261208T010000000Z'), join(corrupt, 'jobs', `${jobId}.20261208T010000000Z`)];
    const otherJobs = join(corrupt, 'jobs', 'another-job.20261208T010000000Z');
    for (const file of [...copies, otherJobs]) {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, 'garbage');
    }
    const run = await runCli(project.cwd, ['clean', jobId]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^deleted 1 job \\(\\d+ objects?\\):\\n  ${jobId}\\n$`));
    const after = await runCli(project.cwd, ['status', jobId]);
    expect(after.stderr).toMatch(/JOB_NOT_FOUND/);
    for (const file of copies) expect(existsSync(file), file).toBe(false);
    expect(existsSync(otherJobs)).toBe(true);
  }, SLOW);
});
