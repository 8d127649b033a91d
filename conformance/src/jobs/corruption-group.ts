import { listAll } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError, type Executor } from '@fanout/core';
import type { StorageBackendV1 } from '@fanout/spec';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import { storageFactoryFromAdapter, type AdapterSetup } from '../factories.js';
import { readStorageDeclaration } from '../storage/storage-session.js';
import { MemoryWatch } from '../support/memory.js';
import { capability, conformanceTest } from '../support/conformance-test.js';
import { collectResults, expectEveryResultOnce, openJobGroup, type JobGroupSession } from './job-session.js';
import { square } from './job-tasks.js';

const TASKS = 40;
const CHUNK = 4;
/** The bad object where a record belongs: far larger than any record may be. */
export const OVERSIZED_RECORD_BYTES = 2 ** 30;
/** What the client's memory may grow by while it refuses that object. */
const FLAT_MEMORY_BYTES = 64 * 2 ** 20;

const inputs = Array.from({ length: TASKS }, (_, index) => index);


/** A finished job's record keys (not its signals), in task order. */
async function recordKeys(storage: StorageBackendV1, group: JobGroupSession, jobId: string): Promise<string[]> {
  return (await listAll(storage, `${group.namespace}/results/${jobId}/`)).map(({ key }) => key).filter((key) => /\/\d{10}-\d{6}$/.test(key));
}

async function* zeros(bytes: number): AsyncIterable<Uint8Array> {
  const chunk = new Uint8Array(4 * 2 ** 20);
  for (let written = 0; written < bytes; written += chunk.byteLength) yield written + chunk.byteLength <= bytes ? chunk : chunk.subarray(0, bytes - written);
}

/**
 * Damaged objects in storage never block a job or a command: a record that cannot be decoded, or
 * an object far too large to be one, is set aside and its tasks run again when the job is
 * re-attached, and the job's other results come back; a truncated job object is a clear
 * `PROTOCOL_ERROR` naming it, and `jobs()` still lists every readable job beside it and a garbage
 * object under `jobs/`; a tampered code bundle is replaced from the client's copy.
 */
export function describeCorruption(setup: AdapterSetup, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('jobs: damaged objects in storage', async () => {
    const declared = await readStorageDeclaration(storageFactoryFromAdapter(setup));
    // An object above the record limit can only be planted in a storage that holds one.
    const holdsOversized = [capability('maxObjectBytes ≥ 1 GiB', declared.capabilities.maxObjectBytes >= OVERSIZED_RECORD_BYTES)];
    const group = openJobGroup(setup, resolved);
    const within = resolved.scaled(120_000);
    const finishedJob = async (executor: Executor) => {
      const job = await executor.map(square, inputs, { chunkSize: CHUNK });
      await job.results({ timeoutMs: within });
      return job;
    };

    conformanceTest(resolved, 'a record that cannot be decoded is set aside and its tasks run again on re-attach; the other results come back', { timeoutMs: 180_000 }, async () => {
      const storage = await group.storage();
      const job = await finishedJob(await group.connect());
      // What the first run took, backups and retries included (a loaded machine makes some).
      const firstRun = job.stats().invocations.attempts;
      const [damaged] = await recordKeys(storage, group, job.id);
      await storage.put(damaged!, new TextEncoder().encode('not a record'));

      const attached = await (await group.connect()).attach<number>(job.id);
      expectEveryResultOnce(await collectResults(attached, within), TASKS, (index) => index * index);
      const [report] = attached.stats().setAside;
      expect(report?.key, 'the damaged record is reported').toBe(damaged);
      expect(report?.movedTo, 'and kept for inspection').toBeTruthy();
      expect(await storage.get(report!.movedTo!), 'the copy holds the damaged bytes').toEqual(new TextEncoder().encode('not a record'));
      // A re-attached job counts the attempts its records show plus its own: the damaged range once
      // more, and a backup of it at most.
      expect(attached.stats().invocations.attempts, 'only the damaged range ran again').toBeLessThanOrEqual(firstRun + 2);
    });

    conformanceTest(resolved, `an object of ${OVERSIZED_RECORD_BYTES / 2 ** 30} GiB where a record belongs is refused by its size, without reading it, and its tasks run again`, { timeoutMs: 300_000, requires: holdsOversized }, async () => {
      const storage = await group.storage();
      const job = await finishedJob(await group.connect());
      const [damaged] = await recordKeys(storage, group, job.id);
      await storage.put(damaged!, zeros(OVERSIZED_RECORD_BYTES));

      const executor = await group.connect();
      const watch = new MemoryWatch();
      const sampler = setInterval(() => watch.sample(), 20);
      let stats;
      try {
        const attached = await executor.attach<number>(job.id);
        expectEveryResultOnce(await collectResults(attached, within), TASKS, (index) => index * index);
        stats = attached.stats();
      } finally {
        clearInterval(sampler);
      }
      watch.sample();
      expect(stats.setAside.map((report) => report.key)).toEqual([damaged]);
      expect(stats.storage.client.bytesRead, 'bytes the client read').toBeLessThan(2 ** 20);
      expect(watch.peak.rss, `the client's memory while refusing it (${watch.describe()})`).toBeLessThan(FLAT_MEMORY_BYTES);
      expect(await storage.head(damaged!).then((info) => info?.size), 'the new record replaced it').toBeLessThan(2 ** 20);
    });

    conformanceTest(resolved, 'a truncated job object is a PROTOCOL_ERROR naming it, and jobs() lists every readable job and names a garbage object under jobs/', { timeoutMs: 180_000 }, async () => {
      const storage = await group.storage();
      const executor = await group.connect();
      const healthy = await finishedJob(executor);
      const truncated = await finishedJob(executor);
      const jobKey = `${group.namespace}/jobs/${truncated.id}`;
      const whole = await storage.get(jobKey);
      await storage.put(jobKey, whole!.subarray(0, 12));
      await storage.put(`${group.namespace}/jobs/20260101-000000-garbage0`, new TextEncoder().encode('{"no": "job"}'));

      const error = await executor.attach(truncated.id).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(FanoutError.isInstance(error, ErrorCode.PROTOCOL_ERROR), `attach rejects with PROTOCOL_ERROR (got ${String(error)})`).toBe(true);
      expect((error as Error).message).toContain(jobKey);

      const listed = await executor.jobs({ limit: 100 });
      expect(listed.find((job) => job.id === healthy.id)?.completedTasks, 'the healthy job is listed').toBe(TASKS);
      expect(listed.find((job) => job.id === truncated.id)?.unreadable, 'the truncated one is named').toBeTruthy();
      expect(listed.find((job) => job.id === '20260101-000000-garbage0')?.unreadable, 'the garbage object is named').toBeTruthy();
    });

    conformanceTest(resolved, "a tampered code bundle is replaced from the client's copy, the job completes, and its stats say so", { timeoutMs: 180_000 }, async () => {
      const storage = await group.storage();
      const executor = await group.connect();
      // A bundle no warm worker has loaded yet (a worker keeps the bundles it verified): an inline
      // task of its own, stored by a job of no tasks, which invokes nothing.
      const task = new Function('value', `return value * value + 0 * ${Date.now()};`) as (value: number) => number;
      const before = new Set((await listAll(storage, `${group.namespace}/code/`)).map(({ key }) => key));
      await (await executor.map(task, [])).results();
      const stored = (await listAll(storage, `${group.namespace}/code/`)).filter(({ key }) => !before.has(key));
      expect(stored, 'the bundle the empty job stored').toHaveLength(1);
      await storage.put(stored[0]!.key, new TextEncoder().encode('export default () => 0;'));

      const job = await executor.map(task, inputs, { chunkSize: CHUNK });
      expectEveryResultOnce(await collectResults(job, within), TASKS, (index) => index * index);
      expect(job.stats().repaired.join('\n'), 'what was repaired').toMatch(/replaced with this client's copy/);
    });
  });
}
