import { ErrorCode, FanoutError, PROTOCOL_VERSION, type ResultRecordV1, type StorageBackendV1 } from '@fanout/spec';
import { emptyRequestCounts, encodeRecord } from '@fanout/worker';
import { describe, expect, it } from 'vitest';
import { StorageLayout } from '../protocol/layout.js';
import { ResultPoller } from './result-poller.js';

const layout = new StorageLayout('fanout');
const jobId = 'job-1';

function record(first: number): ResultRecordV1 {
  return {
    protocol: PROTOCOL_VERSION,
    jobId,
    attempt: 1,
    tasks: { first, count: 1 },
    outcomes: [{ ok: true, value: first, durationMs: 1 }],
    startedMs: 0,
    finishedMs: 1,
    coldStart: false,
    logTail: '',
    storage: emptyRequestCounts(),
  };
}

describe('ResultPoller', () => {
  // Regression: a record whose download failed was marked as seen and never read again; a
  // retried invocation cannot write it twice (first writer wins), so its tasks timed out.
  it('reads a record again on the next listing when its download failed', async () => {
    const key = layout.resultKey(jobId, 0, 1);
    let failuresLeft = 1;
    const storage = {
      specificationVersion: 'v1',
      name: 'memory',
      capabilities: {},
      async list() {
        return { objects: [{ key, size: 1 }] };
      },
      async get() {
        if (failuresLeft-- > 0) throw new FanoutError('outage', { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
        return encodeRecord(record(0));
      },
    } as unknown as StorageBackendV1;
    const received: ResultRecordV1[] = [];
    const errors: unknown[] = [];
    const poller = new ResultPoller({
      storage,
      layout,
      jobId,
      isSettled: () => received.length > 0,
      isWaiting: () => received.length === 0,
      maxIntervalMs: () => 2000,
      onRecord: (value) => received.push(value),
      onStarted: () => undefined,
      onFailed: () => undefined,
      onError: (error) => errors.push(error),
    });
    poller.watch();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    poller.stop();
    expect(errors).toHaveLength(1);
    expect(received.map((value) => value.tasks.first)).toEqual([0]);
  });
});
