/**
 * The AWS adapter as a lane of multi-lane jobs, beside the local backend: S3 on fauxqs (in a
 * process of its own, so that the failover test can kill it) and Lambda through the Invoke API
 * test server running the built runtime. Costs are checked against Lambda's and S3's declared
 * price tables by hand.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, ErrorCode, type Executor, type FanoutConfig, type JobStats } from '@fanout/core';
import { afterAll, describe, expect, it } from 'vitest';
import { LAMBDA_ARM64_PER_GB_SECOND_USD, LAMBDA_PER_REQUEST_USD, S3_EGRESS_PER_GB_USD, S3_PER_READ_REQUEST_USD, S3_PER_WRITE_REQUEST_USD } from '../src/aws-prices.js';
import { startAwsFixture, type AwsFixture } from './aws-fixture.js';
import { slowSquare, square } from './fixtures/lane-tasks.js';

const MEMORY_MB = 128;
const fixtures: AwsFixture[] = [];
const executors: Executor[] = [];

afterAll(async () => {
  for (const executor of executors) await executor.dispose().catch(() => undefined);
  for (const fixture of fixtures) await fixture.stop();
});

async function fixture(): Promise<AwsFixture> {
  const started = await startAwsFixture({ functions: [{ name: 'fanout-runtime', memoryMb: MEMORY_MB, timeoutSeconds: 30, concurrency: 8 }], separateS3Process: true });
  fixtures.push(started);
  return started;
}

async function open(aws: AwsFixture, config: FanoutConfig): Promise<Executor> {
  const cwd = await mkdtemp(join(tmpdir(), 'fanout-aws-lanes-'));
  // The functions time out after 30 s, so the job's deadline must be below that.
  const executor = await connect({ defaults: { timeoutMs: 20_000 }, profiles: { aws: { compute: { backend: 'aws', options: aws.computeOptions() }, storage: { backend: 'aws', options: aws.storageOptions } } }, ...config }, { cwd, configFile: false, env: {} });
  executors.push(executor);
  return executor;
}

/** What a job on one AWS lane cost, computed by hand from the price tables and the job's own counts. */
function handCost(lane: JobStats['lanes'][number]): number {
  const { client, worker } = lane.storage;
  const writes = client.put + client.create + client.list + client.delete + worker.put + worker.create + worker.list + worker.delete;
  const reads = client.get + client.getRange + client.head + worker.get + worker.getRange + worker.head;
  const compute = lane.invocations.succeeded * LAMBDA_PER_REQUEST_USD + LAMBDA_ARM64_PER_GB_SECOND_USD * (MEMORY_MB / 1024) * (lane.billedMs / 1000);
  return compute + writes * S3_PER_WRITE_REQUEST_USD + reads * S3_PER_READ_REQUEST_USD + (client.bytesRead / 1e9) * S3_EGRESS_PER_GB_USD;
}

describe('the AWS adapter as a lane', () => {
  it('runs a 2,000-task job over the AWS and local lanes: every result in order, both lanes running tasks', { timeout: 180_000 }, async () => {
    const executor = await open(await fixture(), { lanes: ['aws', 'local'] });
    const inputs = Array.from({ length: 2000 }, (_, index) => index);
    const job = await executor.map(square, inputs);
    expect(await job.results()).toEqual(inputs.map((value) => value * value));
    const stats = job.stats();
    expect(stats.lanes.map((lane) => [lane.name, lane.backends.compute])).toEqual([
      ['aws', 'lambda'],
      ['local', 'local'],
    ]);
    for (const lane of stats.lanes) expect(lane.tasks, `tasks on ${lane.name}`).toBeGreaterThan(0);
    expect(stats.lanes[0]!.tasks + stats.lanes[1]!.tasks).toBe(2000);
    expect(stats.invocations.duplicates).toBe(0);
    // The AWS lane is priced, the local one free: the job's cost is the AWS lane's.
    expect(stats.costUsd).toBeCloseTo(stats.lanes[0]!.costUsd!, 12);
    expect(stats.lanes[0]!.costUsd).toBeGreaterThan(0);
  });

  it('takes out the AWS lane when its S3 process is killed mid-job and finishes on the local lane, 0 lost and 0 duplicated', { timeout: 180_000 }, async () => {
    const aws = await fixture();
    const executor = await open(aws, { lanes: ['aws', 'local'] });
    const inputs = Array.from({ length: 300 }, (_, value) => ({ value, ms: 20 }));
    const job = await executor.map(slowSquare, inputs, { chunkSize: 2 });
    const seen = new Map<number, number>();
    let killed = false;
    for await (const result of job) {
      seen.set(result.index, (seen.get(result.index) ?? 0) + 1);
      if (!killed && seen.size >= 40 && job.stats().lanes[0]!.tasks > 0) {
        killed = true;
        await aws.s3.kill();
      }
    }
    expect(killed, 'S3 was killed while the job ran').toBe(true);
    const settled = await job.settled();
    expect(settled.filter((result) => !result.ok).map((result) => !result.ok && result.error.message).slice(0, 3)).toEqual([]);
    expect(settled.map((result) => result.ok && result.value)).toEqual(inputs.map(({ value }) => value * value));
    expect([...seen.values()].filter((count) => count > 1), 'tasks delivered twice').toEqual([]);
    expect(seen.size).toBe(inputs.length);
    const [awsLane, localLane] = job.stats().lanes;
    expect(awsLane!.breaker, 'the AWS lane was taken out').not.toBe('closed');
    expect(localLane!.tasks, 'the local lane finished the job').toBeGreaterThan(awsLane!.tasks);
  });

  it('estimates and reports an AWS job as the price table says, and stops at a budget below the estimate with BUDGET_EXCEEDED', { timeout: 180_000 }, async () => {
    const executor = await open(await fixture(), { lanes: ['aws'] });
    const inputs = Array.from({ length: 24 }, (_, index) => index);

    const estimate = await executor.estimate(square, inputs, { chunkSize: 1, taskDurationMs: 10 });
    // By hand: 24 invocations of 10 ms at 128 MB, a record create each, code and job object once,
    // and one code read per warm container (at most the lane's concurrency of 8).
    const computeByHand = 24 * (LAMBDA_PER_REQUEST_USD + LAMBDA_ARM64_PER_GB_SECOND_USD * (MEMORY_MB / 1024) * 0.01);
    const storageByHand = (2 + 24) * S3_PER_WRITE_REQUEST_USD + 8 * S3_PER_READ_REQUEST_USD;
    expect(estimate.lanes[0]).toMatchObject({ name: 'aws', tasks: 24, invocations: 24 });
    expect(estimate.lanes[0]!.computeUsd).toBeCloseTo(computeByHand, 12);
    expect(estimate.lanes[0]!.storageUsd).toBeCloseTo(storageByHand, 12);
    expect(estimate.totalUsd).toBeCloseTo(computeByHand + storageByHand, 12);

    const job = await executor.map(square, inputs, { chunkSize: 1 });
    await job.results();
    const stats = job.stats();
    const lane = stats.lanes[0]!;
    expect(lane.billedMs, 'billed milliseconds, from the REPORT lines').toBeGreaterThan(0);
    // Reported costs are rounded to a millionth of a cent.
    expect(stats.costUsd).toBeCloseTo(Math.round(handCost(lane) * 1e8) / 1e8, 10);

    const budgetUsd = estimate.totalUsd! / 2;
    const limited = await executor.map(square, inputs, { chunkSize: 1, concurrency: 2, budgetUsd });
    const settled = await limited.settled();
    const finished = settled.filter((result) => result.ok);
    expect(finished.length, 'tasks run within the budget').toBeGreaterThan(0);
    expect(finished.length).toBeLessThan(inputs.length);
    for (const result of finished) expect(result.ok && result.value).toBe(result.index * result.index);
    const refused = settled.filter((result) => !result.ok);
    expect(new Set(refused.map((result) => !result.ok && result.error.code))).toEqual(new Set([ErrorCode.BUDGET_EXCEEDED]));
    expect(limited.stats().costUsd!).toBeLessThanOrEqual(budgetUsd);
  });
});
