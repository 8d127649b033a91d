import { describe, expect } from 'vitest';
import { readComputeDeclaration } from '../compute/compute-session.js';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import { computeFactoryFromAdapter, type AdapterSetup } from '../factories.js';
import { withFaults } from '../faults/with-faults.js';
import { capability, conformanceTest } from '../support/conformance-test.js';
import { collectResults, expectEveryResultOnce, openJobGroup } from './job-session.js';
import { pausedSquare, square } from './job-tasks.js';

/** Tasks in the retry and duplicate jobs, five per invocation. */
const RECOVERY_TASKS = 200;
const RECOVERY_CHUNK = 5;

/**
 * Recovery through core: an invocation failing transiently is retried; duplicate deliveries are
 * harmless; a job whose client was lost is re-attached from another client and every result comes
 * back exactly once. Faults are injected with {@link withFaults}.
 */
export function describeJobRecovery(setup: AdapterSetup, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('jobs: recovery', async () => {
    const declared = await readComputeDeclaration(computeFactoryFromAdapter(setup));
    const group = openJobGroup(setup, resolved);
    const within = resolved.scaled(120_000);
    const inputs = Array.from({ length: RECOVERY_TASKS }, (_, index) => index);

    conformanceTest(resolved, 'invocations failing transiently (BACKEND_UNAVAILABLE) are retried, and every result comes back once', { timeoutMs: 180_000 }, async () => {
      const faulty = withFaults(setup.plugin, { compute: { unavailableShare: 0.3, firstAttemptOnly: true, seed: resolved.seed } });
      const executor = await group.connect({ compute: faulty });
      const job = await executor.map(square, inputs, { chunkSize: RECOVERY_CHUNK });
      const collected = await collectResults(job, within);
      await executor.dispose();
      expectEveryResultOnce(collected, RECOVERY_TASKS, (index) => index * index);
      const injected = faulty.injectedFaults().compute.unavailable;
      expect(injected, 'transient failures injected').toBeGreaterThan(0);
      expect(job.stats().invocations.retried, 'invocations retried').toBeGreaterThanOrEqual(injected);
    });

    for (const mode of ['sync', 'async'] as const) {
      const requires = [capability(`${mode}Invoke`, mode === 'sync' ? declared.capabilities.syncInvoke : declared.capabilities.asyncInvoke)];
      conformanceTest(resolved, `every invocation delivered twice in ${mode} mode: duplicates are harmless and every result comes back once`, { timeoutMs: 180_000, requires }, async () => {
        const faulty = withFaults(setup.plugin, { compute: { duplicateShare: 1, seed: resolved.seed } });
        const executor = await group.connect({ compute: faulty });
        const job = await executor.map(square, inputs, { chunkSize: RECOVERY_CHUNK, mode });
        const collected = await collectResults(job, within);
        await executor.dispose();
        expectEveryResultOnce(collected, RECOVERY_TASKS, (index) => index * index);
        expect(faulty.injectedFaults().compute.duplicated, 'duplicate deliveries').toBeGreaterThanOrEqual(RECOVERY_TASKS / RECOVERY_CHUNK);
      });
    }

    conformanceTest(resolved, 'a job whose client was lost mid-run is re-attached from another client, and every result comes back exactly once', { timeoutMs: 240_000 }, async () => {
      // Big enough that a fifth of it finishing leaves work in flight even at the backend's full concurrency.
      const size = Math.min(2000, Math.max(200, declared.capabilities.defaultConcurrency * RECOVERY_CHUNK * 4));
      const pauseMs = 20;
      const first = await group.connect();
      const job = await first.map(pausedSquare, Array.from({ length: size }, (_, value) => ({ value, pauseMs })), { chunkSize: RECOVERY_CHUNK });
      await job.wait({ until: 0.2, timeoutMs: within });
      // The first client is lost: its run stops and its backends go, and it writes nothing on the way out.
      await job.cancel();
      await first.dispose();

      const second = await group.connect();
      const before = await second.inspect(job.id);
      expect(before.tasks.succeeded, 'tasks finished before the first client was lost').toBeGreaterThan(0);
      expect(before.tasks.pending, 'tasks left for the second client (the first finished everything)').toBeGreaterThan(0);
      const attached = await second.attach<number>(job.id);
      const collected = await collectResults(attached, within);
      await second.dispose();
      expectEveryResultOnce(collected, size, (index) => index * index);
    });
  });
}
