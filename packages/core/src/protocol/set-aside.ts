import { MAX_RECORD_BYTES, type StorageBackendV1 } from '@fanout/spec';
import type { StorageLayout } from './layout.js';

/** An object a job could not use, as `job.stats().setAside` reports it. */
export type SetAsideObject = {
  /** Where it was. */
  key: string;
  /** Why it could not be used. */
  reason: string;
  /**
   * Where it was moved, for inspection; `null` when it was too large to copy and was deleted;
   * `undefined` when it was left in place (an inspection, which changes nothing).
   */
  movedTo: string | null | undefined;
};

/**
 * Move an object that does not follow the protocol out of the job's way, so that the tasks it
 * stood for run again and their new record can be written (a conditional create would otherwise
 * keep the bad one forever): copied under `corrupt/` with the time it was found, then deleted.
 * An object refused by its size alone was never read, and is deleted without a copy (keeping a
 * gigabyte that cannot be a record helps nobody); the report says so.
 */
export async function setAside(storage: StorageBackendV1, layout: StorageLayout, key: string, reason: string, bytes?: Uint8Array): Promise<SetAsideObject> {
  const target = layout.corruptKey(key, new Date());
  let movedTo: string | null = null;
  if (bytes) {
    await storage.put(target, bytes);
    movedTo = target;
  }
  await storage.delete([key]);
  return { key, reason, movedTo };
}

export function describeSetAside({ key, reason, movedTo }: SetAsideObject): string {
  if (movedTo === undefined) return `${key}: ${reason}; it is set aside and its tasks run again when the job is re-attached.`;
  return `${key}: ${reason}; ${movedTo ? `moved to ${movedTo}` : 'deleted without a copy'}, and its tasks run again.`;
}

/** Why a listed object cannot be a record, judged by its size alone; `undefined` when it may be one. */
export function oversizedRecord(size: number): string | undefined {
  return size > MAX_RECORD_BYTES ? `it is ${size} bytes, larger than any result record (${MAX_RECORD_BYTES} bytes), so it was not read` : undefined;
}
