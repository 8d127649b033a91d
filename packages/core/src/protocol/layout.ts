/**
 * Where the protocol keeps things in storage, under the configured prefix:
 *
 * - `code/<sha256>.mjs`: a bundle, shared by every job that ships the same code;
 * - `jobs/<jobId>`: the job object (manifest and every input, framed), one per job;
 * - `results/<jobId>/<first>-<count>`: one result record per completed task range.
 *
 * Job objects sit apart from results so that listing jobs never walks their results.
 */
export class StorageLayout {
  constructor(readonly prefix: string) {}

  codeKey(sha256: string): string {
    return this.join(`code/${sha256}.mjs`);
  }

  jobsPrefix(): string {
    return this.join('jobs/');
  }

  jobKey(jobId: string): string {
    return this.join(`jobs/${jobId}`);
  }

  resultsPrefix(jobId: string): string {
    return this.join(`results/${jobId}/`);
  }

  /** Zero-padded so that listings come back in task order. */
  resultKey(jobId: string, first: number, count: number): string {
    return `${this.resultsPrefix(jobId)}${String(first).padStart(10, '0')}-${String(count).padStart(6, '0')}`;
  }

  /** The task range a result key stands for, or `undefined` for a foreign key. */
  parseResultKey(jobId: string, key: string): { first: number; count: number } | undefined {
    const name = key.slice(this.resultsPrefix(jobId).length);
    const match = /^(\d{10})-(\d{6})$/.exec(name);
    return match ? { first: Number(match[1]), count: Number(match[2]) } : undefined;
  }

  jobIdFromKey(key: string): string | undefined {
    const id = key.slice(this.jobsPrefix().length);
    return id && !id.includes('/') ? id : undefined;
  }

  private join(rest: string): string {
    return this.prefix ? `${this.prefix}/${rest}` : rest;
  }
}

/** A new job id: sortable by creation time, unique without coordination. */
export function newJobId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const random = crypto.getRandomValues(new Uint8Array(4));
  return `${stamp}-${Buffer.from(random).toString('hex')}`;
}
