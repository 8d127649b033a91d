import { ErrorCode } from '@fanout/spec';
import { decodeRecord } from '@fanout/worker';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { ComputeFactory } from '../factories.js';
import { capability, conformanceTest, method } from '../support/conformance-test.js';
import { expectFanoutError } from '../support/expectations.js';
import { disposeAll, openComputeSession, outcomeValues, readComputeDeclaration, runToRecord } from './compute-session.js';
import { TASK_BUNDLE_BYTES, TASK_BUNDLE_SHA256, buildPayload, framedInputs } from './task-bundle.js';

/**
 * Invocation: synchronous (record in the response and in storage) and asynchronous (record under
 * `resultKey`) as declared; inputs read from storage with a byte range; a task that throws is an
 * outcome, not an invoke failure; a second attempt at a result key leaves the first record; use
 * after `dispose()`.
 *
 * Throttling (`THROTTLED`) cannot be provoked generically; core's handling of it is covered
 * through the fault-injection wrappers in the job and chaos groups instead.
 */
export function describeComputeInvocation(factory: ComputeFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('compute: invocation', async () => {
    const declared = await readComputeDeclaration(factory);
    const session = openComputeSession(factory, resolved);
    const { syncInvoke, asyncInvoke } = declared.capabilities;
    const recordWithin = resolved.scaled(60_000);

    conformanceTest(resolved, 'declares at least one invocation mode', { timeoutMs: 5_000 }, async () => {
      expect(syncInvoke || asyncInvoke, 'capabilities.syncInvoke or capabilities.asyncInvoke').toBe(true);
    });

    conformanceTest(resolved, 'a synchronous invocation returns the record in its response, and writes it under resultKey', { timeoutMs: 60_000, requires: [capability('syncInvoke', syncInvoke)] }, async () => {
      const payload = session.payload({ task: 'square', inputs: [1, 2, 3] });
      const result = await session.compute.invoke(payload, { mode: 'sync' });
      expect(result.mode).toBe('sync');
      const inResponse = result.mode === 'sync' ? result.record : undefined;
      expect(inResponse, 'a small record travels in the response').toBeDefined();
      const record = decodeRecord(inResponse!, 'the response');
      expect({ jobId: record.jobId, tasks: record.tasks, attempt: record.attempt }).toEqual({ jobId: payload.jobId, tasks: payload.tasks, attempt: 1 });
      expect(outcomeValues(record)).toEqual([1, 4, 9]);
      const stored = await session.storage.get(payload.resultKey);
      expect(stored, 'the record under resultKey').toBeDefined();
      expect(outcomeValues(decodeRecord(stored!, 'the stored record'))).toEqual([1, 4, 9]);
    });

    conformanceTest(resolved, 'an asynchronous invocation resolves once accepted, and its record appears under resultKey', { timeoutMs: 90_000, requires: [capability('asyncInvoke', asyncInvoke)] }, async () => {
      const payload = session.payload({ task: 'square', inputs: [4, 5], respond: false });
      const result = await session.compute.invoke(payload, { mode: 'async' });
      expect(result).toEqual({ mode: 'async' });
      const record = await session.waitForRecord(payload.resultKey, recordWithin);
      expect(record, `a record under resultKey within ${recordWithin} ms`).toBeDefined();
      expect(outcomeValues(record!)).toEqual([16, 25]);
    });

    conformanceTest(resolved, 'a worker reads inputs that are not inline with one byte range of the stored object', { timeoutMs: 90_000 }, async () => {
      const framed = framedInputs([10, 11, 12]);
      const inputKey = session.key('jobs/inputs');
      await session.storage.put(inputKey, framed);
      const oneFrame = framed.byteLength / 3;
      const payload = session.payload({ task: 'square', inputs: { key: inputKey, start: oneFrame, end: framed.byteLength, count: 2 } });
      const record = await runToRecord(session, declared, payload, recordWithin);
      expect(outcomeValues(record)).toEqual([121, 144]);
      expect(record.storage.getRange, 'ranged reads the worker reported').toBe(1);
    });

    conformanceTest(resolved, 'a task that throws becomes a USER_CODE_ERROR outcome with its name, message and remote stack; the other tasks still run', { timeoutMs: 90_000 }, async () => {
      const payload = session.payload({ task: 'squareUnlessText', inputs: [2, 'not a number', 3] });
      const record = await runToRecord(session, declared, payload, recordWithin);
      expect(outcomeValues(record)).toEqual([4, `failed: ${ErrorCode.USER_CODE_ERROR}`, 9]);
      const failed = record.outcomes[1];
      if (failed?.ok !== false) return;
      expect({ code: failed.error.code, name: failed.error.name, message: failed.error.message }).toEqual({
        code: ErrorCode.USER_CODE_ERROR,
        name: 'RangeError',
        message: 'not a number',
      });
      expect(failed.error.stack, 'the remote stack names the task').toContain('squareUnlessText');
    });

    conformanceTest(resolved, 'a second attempt at the same resultKey leaves the first record in place', { timeoutMs: 90_000, requires: [capability('syncInvoke', syncInvoke), capability('conditionalCreate', declared.storage.capabilities.conditionalCreate, 'storage')], behaviour: 'conditional-create' }, async () => {
      const first = session.payload({ task: 'square', inputs: [2] });
      await session.invokeSync(first);
      const second = { ...session.payload({ task: 'square', inputs: [3] }), jobId: first.jobId, resultKey: first.resultKey, attempt: 2 };
      await session.invokeSync(second);
      const stored = decodeRecord((await session.storage.get(first.resultKey))!, 'the stored record');
      expect({ attempt: stored.attempt, values: outcomeValues(stored) }).toEqual({ attempt: 1, values: [4] });
    });

    conformanceTest(resolved, 'after dispose(), invoke rejects DISPOSED', { timeoutMs: 60_000, requires: [method('dispose', declared.hasDispose)] }, async () => {
      const made = await factory();
      try {
        const codeKey = `${session.namespace}/code/${TASK_BUNDLE_SHA256}.mjs`;
        await made.storage.put(codeKey, TASK_BUNDLE_BYTES);
        await made.compute.dispose!();
        const payload = buildPayload({ codeKey, resultKey: session.key('results/after-dispose'), task: 'square', inputs: [1] });
        await expectFanoutError(made.compute.invoke(payload, { mode: syncInvoke ? 'sync' : 'async' }), ErrorCode.DISPOSED);
      } finally {
        // The compute is disposed already; the rest still is the test's to release.
        await disposeAll({ ...made, compute: { ...made.compute, dispose: undefined } });
      }
    });
  });
}
