import { ErrorCode, FanoutError, type ResultRecordV1, type StorageBackendV1 } from '@fanout/spec';
import { decodeRecord } from '@fanout/worker';
import { decodeJobManifest, inputsOfJobObject, readJobManifest, type JobInputs, type JobManifest } from '../protocol/job-object.js';
import type { StorageLayout } from '../protocol/layout.js';
import { oversizedRecord, setAside, type SetAsideObject } from '../protocol/set-aside.js';

/**
 * The form of job ids, for messages. Ids are made by `newJobId`; the suffix is matched loosely
 * so that any id `fanout jobs` lists under `jobs/` (an unreadable object's too) can be named.
 */
export const JOB_ID_FORM = 'job ids look like 20261129-023501-1a2b3c4d (the UTC date and time the job was created, then a random suffix)';

/** Whether `text` has the form of a job id, and so can name nothing but a job object. */
export function isJobId(text: string): boolean {
  return /^\d{8}-\d{6}-[0-9A-Za-z]+$/.test(text);
}

/** A job's key for an id, refusing what cannot be one (a path, say) as a job that is not there. */
export function jobKeyOf(layout: StorageLayout, jobId: string): string {
  if (!isJobId(jobId)) {
    throw new FanoutError(`${JSON.stringify(jobId)} is not a job id: ${JOB_ID_FORM}. \`fanout jobs\` (or executor.jobs()) lists the jobs in storage.`, {
      code: ErrorCode.JOB_NOT_FOUND,
      fault: 'caller',
    });
  }
  return layout.jobKey(jobId);
}

/**
 * The first of these storages that holds the job, with its manifest; `undefined` if none does.
 * `whole`: read the whole job object (manifest and inputs) in one request, for a run whose
 * payloads carry inputs inline at any size; otherwise only the manifest is read.
 */
export async function findJob<S extends { storage: StorageBackendV1 }>(
  candidates: readonly S[],
  layout: StorageLayout,
  jobId: string,
  whole: boolean,
): Promise<{ found: S; manifest: JobManifest; inputs: JobInputs | undefined } | undefined> {
  const key = jobKeyOf(layout, jobId);
  for (const candidate of candidates) {
    if (whole) {
      const bytes = await candidate.storage.get(key);
      if (!bytes) continue;
      const manifest = decodeJobManifest(bytes, key);
      return { found: candidate, manifest, inputs: inputsOfJobObject(bytes, manifest) };
    }
    const manifest = await readJobManifest(candidate.storage, key);
    if (manifest) return { found: candidate, manifest, inputs: undefined };
  }
  return undefined;
}

/** The job's inputs, for cutting inline payloads, read whole from storage. */
export async function readJobInputs(storage: StorageBackendV1, layout: StorageLayout, manifest: JobManifest): Promise<JobInputs> {
  const key = layout.jobKey(manifest.id);
  const bytes = await storage.get(key);
  if (!bytes) throw new FanoutError(`Job ${manifest.id} was deleted while it was being read.`, { code: ErrorCode.JOB_NOT_FOUND, fault: 'caller' });
  return inputsOfJobObject(bytes, decodeJobManifest(bytes, key));
}

/** A result record as found in storage, with the generation its key names (see `StorageLayout.resultKey`). */
export type StoredRecord = { record: ResultRecordV1; generation: number };

/**
 * Every result record of a job in one storage, and the objects that should have been records and
 * are not (too large to be one, or not decodable). With `repair` those are set aside
 * ({@link setAside}) so that their tasks run again; without it (an inspection) they are only reported.
 */
export async function readRecords(
  storage: StorageBackendV1,
  layout: StorageLayout,
  manifest: JobManifest,
  repair: boolean,
): Promise<{ records: StoredRecord[]; setAside: SetAsideObject[] }> {
  const records: StoredRecord[] = [];
  const bad: SetAsideObject[] = [];
  const refuse = async (key: string, reason: string, bytes?: Uint8Array) => {
    bad.push(repair ? await setAside(storage, layout, key, reason, bytes) : { key, reason, movedTo: undefined });
  };
  let cursor: string | undefined;
  do {
    const page = await storage.list(layout.resultsPrefix(manifest.id), cursor === undefined ? {} : { cursor });
    for (const { key, size } of page.objects) {
      // Start signals and anything else under the prefix are not records.
      const range = layout.parseResultKey(manifest.id, key);
      if (!range) continue;
      const oversized = oversizedRecord(size);
      if (oversized) {
        await refuse(key, oversized);
        continue;
      }
      const bytes = await storage.get(key);
      if (!bytes) continue;
      try {
        records.push({ record: decodeRecord(bytes, key), generation: range.generation });
      } catch (error) {
        await refuse(key, (error as Error).message, bytes);
      }
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
  return { records, setAside: bad };
}
