import { ErrorCode, FanoutError, type StorageBackendV1 } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { RetryingStorage, replayableBody } from './retrying-storage.js';

/** A storage whose next `failures` requests fail with `error`, counting every request. */
function flakyStorage(failures: number, error: FanoutError) {
  const objects = new Map<string, Uint8Array>();
  let remaining = failures;
  const state = { requests: 0 };
  const maybeFail = () => {
    state.requests += 1;
    if (remaining > 0) {
      remaining -= 1;
      throw error;
    }
  };
  const storage: StorageBackendV1 = {
    specificationVersion: 'v1',
    name: 'flaky',
    capabilities: {},
    async get(key) {
      maybeFail();
      return objects.get(key);
    },
    async head() {
      maybeFail();
      return undefined;
    },
    async put(key, body) {
      maybeFail();
      const chunks: Uint8Array[] = [];
      if (body instanceof Uint8Array) chunks.push(body);
      else for await (const chunk of body) chunks.push(chunk);
      objects.set(key, Buffer.concat(chunks));
    },
    async delete() {
      maybeFail();
    },
    async list() {
      maybeFail();
      return { objects: [] };
    },
  };
  return { storage, state };
}

const transient = new FanoutError('503 from the store', { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });

describe('RetryingStorage', () => {
  it('retries a transient failure and succeeds, each attempt a real request', async () => {
    const { storage, state } = flakyStorage(2, transient);
    const retrying = new RetryingStorage(storage);
    await retrying.put('a', new Uint8Array([1]));
    expect(await retrying.get('a')).toEqual(Buffer.from([1]));
    expect(state.requests).toBe(4);
  });

  it('gives up after its attempts with the last error', async () => {
    const { storage, state } = flakyStorage(10, transient);
    await expect(new RetryingStorage(storage, 3).get('a')).rejects.toBe(transient);
    expect(state.requests).toBe(3);
  });

  it('never retries an error that is not retryable', async () => {
    const denied = new FanoutError('no', { code: ErrorCode.ACCESS_DENIED, fault: 'caller' });
    const { storage, state } = flakyStorage(1, denied);
    await expect(new RetryingStorage(storage).list('')).rejects.toBe(denied);
    expect(state.requests).toBe(1);
  });

  it('retries a streamed put only when its body can be replayed', async () => {
    const chunks = [new Uint8Array([1, 2]), new Uint8Array([3])];
    const replayable = flakyStorage(1, transient);
    const retrying = new RetryingStorage(replayable.storage);
    await retrying.put('a', replayableBody(async function* () {
      yield* chunks;
    }));
    expect(await retrying.get('a')).toEqual(Buffer.from([1, 2, 3]));

    const oneShot = flakyStorage(1, transient);
    const stream = (async function* () {
      yield* chunks;
    })();
    await expect(new RetryingStorage(oneShot.storage).put('a', stream)).rejects.toBe(transient);
  });
});
