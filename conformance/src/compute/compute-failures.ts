import { ErrorCode, type ErrorCode as ErrorCodeType, type InvocationMode } from '@fanout/spec';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { ComputeFactory } from '../factories.js';
import { capability, conformanceTest } from '../support/conformance-test.js';
import { expectFanoutError, sleep } from '../support/expectations.js';
import { openComputeSession, outcomeValues, readComputeDeclaration, runToRecord, type ComputeDeclaration, type ComputeSession } from './compute-session.js';
import type { BundledTask } from './task-bundle.js';

/** Codes an unclassified invocation failure may carry. */
const FAILURE_CODES: ErrorCodeType[] = [ErrorCode.TIMEOUT, ErrorCode.WORKER_CRASHED, ErrorCode.OUT_OF_MEMORY, ErrorCode.BACKEND_UNAVAILABLE];

/**
 * Worker failures, observed through synchronous invocations (an asynchronous one reports nothing
 * to the invoker): a task past its timeout, a task that exits its process and a task that exhausts
 * memory each make the invocation reject, classified `TIMEOUT`, `WORKER_CRASHED` and
 * `OUT_OF_MEMORY` where `capabilities.classifiesFailures` is declared, and the backend keeps
 * working afterwards. No record is written for a failed invocation.
 */
export function describeComputeFailures(factory: ComputeFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('compute: failures', async () => {
    const declared = await readComputeDeclaration(factory);
    const session = openComputeSession(factory, resolved);
    const { syncInvoke, classifiesFailures, maxTimeoutMs } = declared.capabilities;
    const sync = capability('syncInvoke', syncInvoke);
    const classified = (code: ErrorCodeType): ErrorCodeType[] => (classifiesFailures ? [code] : FAILURE_CODES);

    const expectFailure = async (task: BundledTask, input: unknown, code: ErrorCodeType, timeoutMs: number) => {
      const payload = session.payload({ task, inputs: [input], timeoutMs });
      const started = Date.now();
      const error = await expectFanoutError(session.compute.invoke(payload, { mode: 'sync' }), ...classified(code));
      const elapsedMs = Date.now() - started;
      expect(await session.storage.get(payload.resultKey), 'a record written by a failed invocation').toBeUndefined();
      await expectStillWorking(session, declared, resolved.scaled(60_000));
      return { error, elapsedMs };
    };

    conformanceTest(resolved, 'a task running past payload.timeoutMs is stopped and the invocation rejects soon after (TIMEOUT where failures are classified)', { timeoutMs: 60_000, requires: [sync] }, async () => {
      const timeoutMs = Math.min(resolved.scaled(2_000), maxTimeoutMs);
      const { error, elapsedMs } = await expectFailure('spinForever', null, ErrorCode.TIMEOUT, timeoutMs);
      expect(elapsedMs, 'time from invoke to the TIMEOUT rejection').toBeLessThan(timeoutMs + resolved.scaled(10_000));
      if (classifiesFailures) expect(error.retryable, 'TIMEOUT is retryable').toBe(true);
    });

    conformanceTest(resolved, 'a task that exits its process makes the invocation reject (WORKER_CRASHED where failures are classified)', { timeoutMs: 60_000, requires: [sync] }, async () => {
      const { error } = await expectFailure('exitProcess', 3, ErrorCode.WORKER_CRASHED, resolved.scaled(30_000));
      if (classifiesFailures) expect(error.retryable, 'WORKER_CRASHED is retryable').toBe(true);
    });

    conformanceTest(resolved, 'a task that exhausts memory makes the invocation reject OUT_OF_MEMORY, not retryable', { timeoutMs: 180_000, requires: [sync, capability('classifiesFailures', classifiesFailures)] }, async () => {
      const { error } = await expectFailure('exhaustMemory', null, ErrorCode.OUT_OF_MEMORY, Math.min(resolved.scaled(120_000), maxTimeoutMs));
      expect(error.retryable, 'OUT_OF_MEMORY would fail again with the same memory').toBe(false);
    });
  });
}

/**
 * Cancellation through the invocation's `AbortSignal`: on every backend, an already-aborted signal
 * runs nothing. Where `capabilities.cancelsRunningInvocations` is declared, aborting a running
 * invocation also rejects `ABORTED` promptly and stops the work, so that no record appears
 * afterwards; a backend that cannot stop running work (Lambda) leaves the capability out, and
 * aborting then only stops the wait.
 */
export function describeComputeCancellation(factory: ComputeFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('compute: cancellation', async () => {
    const declared = await readComputeDeclaration(factory);
    const session = openComputeSession(factory, resolved);
    const mode: InvocationMode = declared.capabilities.syncInvoke ? 'sync' : 'async';

    conformanceTest(resolved, 'an invocation given an already-aborted signal rejects ABORTED and runs nothing', { timeoutMs: 60_000 }, async () => {
      const controller = new AbortController();
      controller.abort();
      const payload = session.payload({ task: 'square', inputs: [2], respond: mode === 'sync' });
      await expectFanoutError(session.compute.invoke(payload, { mode, signal: controller.signal }), ErrorCode.ABORTED);
      await sleep(resolved.scaled(1_500));
      expect(await session.storage.get(payload.resultKey), 'a record from an invocation aborted before it started').toBeUndefined();
    });

    const cancels = capability('cancelsRunningInvocations', declared.capabilities.cancelsRunningInvocations);
    const running = `aborting a running ${mode} invocation rejects ABORTED promptly and stops the work: no record appears afterwards`;
    conformanceTest(resolved, running, { timeoutMs: 60_000, requires: [cancels], behaviour: 'cancellation' }, async () => {
      const taskMs = resolved.scaled(2_500);
      const payload = session.payload({ task: 'sleep', inputs: [taskMs], respond: mode === 'sync' });
      const controller = new AbortController();
      const started = Date.now();
      const invocation = session.compute.invoke(payload, { mode, signal: controller.signal });
      if (mode === 'async') expect(await invocation).toEqual({ mode: 'async' });
      await sleep(resolved.scaled(500));
      controller.abort();
      const abortedAt = Date.now();
      if (mode === 'sync') {
        await expectFanoutError(invocation, ErrorCode.ABORTED);
        expect(Date.now() - abortedAt, 'time from abort to the ABORTED rejection').toBeLessThan(resolved.scaled(2_000));
      }
      // Past the moment the task would have finished and written its record, with a margin.
      await sleep(Math.max(0, started + taskMs + resolved.scaled(1_500) - Date.now()));
      expect(await session.storage.get(payload.resultKey), 'a record written after the invocation was aborted').toBeUndefined();
      await expectStillWorking(session, declared, resolved.scaled(60_000));
    });
  });
}

/** After a failure, the backend still runs work. */
async function expectStillWorking(session: ComputeSession, declared: ComputeDeclaration, timeoutMs: number): Promise<void> {
  const record = await runToRecord(session, declared, session.payload({ task: 'square', inputs: [7] }), timeoutMs);
  expect(outcomeValues(record), 'a square computed after the failure').toEqual([49]);
}
