import { listAll } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError, type StorageBackendV1 } from '@fanout/spec';
import { readJobManifest } from '../protocol/job-object.js';
import type { StorageLayout } from '../protocol/layout.js';

/** One line of `fanout jobs`. */
export type JobSummary = {
  id: string;
  createdMs: number;
  label: string;
  taskCount: number;
  completedTasks: number;
  /** Why the job object could not be read (truncated, not a job object); the other fields are then 0 or empty. */
  unreadable?: string;
};

export type CleanOptions = {
  /** Delete these jobs. */
  jobIds?: string[];
  /** Delete jobs created longer ago than this. */
  olderThanMs?: number;
  /** Delete everything under the prefix, code bundles included. */
  all?: boolean;
};

export type CleanReport = { jobs: string[]; deletedObjects: number };

/** Keys per delete call, the batch limit of S3 and Azure. */
const deleteBatch = 1000;


/** The newest jobs, with how many tasks have a result record. */
export async function readJobSummaries(storage: StorageBackendV1, layout: StorageLayout, limit: number): Promise<JobSummary[]> {
  const ids = (await listAll(storage, layout.jobsPrefix()))
    .map(({ key }) => layout.jobIdFromKey(key))
    .filter((id): id is string => id !== undefined)
    .sort()
    .reverse()
    .slice(0, limit);
  return Promise.all(
    ids.map(async (id): Promise<JobSummary> => {
      let manifest;
      try {
        manifest = await readJobManifest(storage, layout.jobKey(id));
      } catch (error) {
        // One unreadable object must not hide every other job.
        if (!FanoutError.isInstance(error, ErrorCode.PROTOCOL_ERROR)) throw error;
        return { id, createdMs: 0, label: '', taskCount: 0, completedTasks: 0, unreadable: error.message };
      }
      const results = await listAll(storage, layout.resultsPrefix(id));
      const done = new Set<number>();
      for (const { key } of results) {
        const range = layout.parseResultKey(id, key);
        for (let index = range?.first ?? 0; range && index < range.first + range.count; index += 1) done.add(index);
      }
      return {
        id,
        createdMs: manifest?.createdMs ?? 0,
        label: manifest?.label ?? '(unreadable)',
        taskCount: manifest?.taskCount ?? 0,
        completedTasks: done.size,
      };
    }),
  );
}

/** Delete the selected jobs' objects (job object, result records and the copies of any set aside), or everything. */
export async function deleteJobs(storage: StorageBackendV1, layout: StorageLayout, options: CleanOptions): Promise<CleanReport> {
  if (!options.all && !options.jobIds?.length && options.olderThanMs === undefined) {
    throw new TypeError('clean needs jobIds, olderThanMs or all: it never deletes without a selection.');
  }
  const jobObjects = await listAll(storage, layout.jobsPrefix());
  const now = Date.now();
  const selected = new Set<string>();
  for (const { key, modifiedMs } of jobObjects) {
    const id = layout.jobIdFromKey(key);
    if (id === undefined) continue;
    const old = options.olderThanMs !== undefined && modifiedMs !== undefined && now - modifiedMs > options.olderThanMs;
    if (options.all || options.jobIds?.includes(id) || old) selected.add(id);
  }
  const keys: string[] = [];
  if (options.all) {
    keys.push(...(await listAll(storage, layout.prefix ? `${layout.prefix}/` : '')).map(({ key }) => key));
  } else {
    for (const id of selected) {
      keys.push(layout.jobKey(id));
      for (const prefix of [layout.resultsPrefix(id), ...layout.corruptPrefixesOf(id)]) keys.push(...(await listAll(storage, prefix)).map(({ key }) => key));
    }
  }
  for (let start = 0; start < keys.length; start += deleteBatch) await storage.delete(keys.slice(start, start + deleteBatch));
  return { jobs: [...selected].sort(), deletedObjects: keys.length };
}
