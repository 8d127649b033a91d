import { throwIfAborted } from './abort.js';
import { assertValidStorageKey } from './storage-keys.js';

export type DeleteBatching = {
  /** Most keys one delete request of the store takes. */
  batchSize: number;
  /** Requests in flight at once. */
  concurrency: number;
  signal?: AbortSignal | undefined;
};

/**
 * Delete `keys` through a store's batch delete: every key is checked before anything is deleted
 * (one unsafe key refuses the whole call with `STORAGE_KEY_INVALID`), duplicates are sent once, and the
 * batches go `concurrency` at a time, stopping at the first failure or abort.
 */
export async function deleteInBatches(keys: readonly string[], batching: DeleteBatching, deleteBatch: (batch: string[]) => Promise<void>): Promise<void> {
  const { batchSize, concurrency, signal } = batching;
  throwIfAborted(signal);
  for (const key of keys) assertValidStorageKey(key);
  const unique = [...new Set(keys)];
  const batches: string[][] = [];
  for (let start = 0; start < unique.length; start += batchSize) batches.push(unique.slice(start, start + batchSize));
  let failed = false;
  const deleteNext = async (): Promise<void> => {
    for (let batch = batches.shift(); batch !== undefined && !failed; batch = batches.shift()) {
      throwIfAborted(signal);
      try {
        await deleteBatch(batch);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, deleteNext));
}
