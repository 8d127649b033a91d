import { describe, expect, it } from 'vitest';
import { deleteInBatches } from './batched-delete.js';

describe('deleteInBatches', () => {
  it('sends each key once, in batches of the given size, at most `concurrency` at a time', async () => {
    const batches: string[][] = [];
    let inFlight = 0;
    let most = 0;
    const keys = Array.from({ length: 25 }, (_, index) => `k${index}`);
    await deleteInBatches([...keys, 'k0', 'k1'], { batchSize: 10, concurrency: 2 }, async (batch) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      batches.push(batch);
      inFlight -= 1;
    });
    expect(batches.map((batch) => batch.length).sort()).toEqual([10, 10, 5]);
    expect(new Set(batches.flat()).size).toBe(25);
    expect(most).toBe(2);
  });

  it('refuses the whole call for one unsafe key, before deleting anything', async () => {
    const batches: string[][] = [];
    await expect(deleteInBatches(['a', '../b'], { batchSize: 10, concurrency: 1 }, async (batch) => void batches.push(batch))).rejects.toMatchObject({ code: 'STORAGE_KEY_INVALID' });
    expect(batches).toEqual([]);
  });

  it('stops sending batches after one fails, and rejects with its error', async () => {
    const sent: string[][] = [];
    const failure = new Error('denied');
    const keys = Array.from({ length: 5 }, (_, index) => `k${index}`);
    const deleting = deleteInBatches(keys, { batchSize: 1, concurrency: 1 }, async (batch) => {
      sent.push(batch);
      if (sent.length === 2) throw failure;
    });
    await expect(deleting).rejects.toBe(failure);
    expect(sent).toHaveLength(2);
  });

  it('does nothing for no keys, and refuses an aborted signal', async () => {
    await deleteInBatches([], { batchSize: 10, concurrency: 4 }, async () => {
      throw new Error('not called');
    });
    await expect(deleteInBatches(['a'], { batchSize: 10, concurrency: 4, signal: AbortSignal.abort() }, async () => undefined)).rejects.toThrow(/aborted/);
  });
});
