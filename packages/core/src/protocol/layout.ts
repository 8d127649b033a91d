/**
 * Where the protocol keeps things in storage, under the configured prefix:
 *
 * - `code/<sha256>.mjs`: a bundle, shared by every job that ships the same code;
 * - `jobs/<jobId>`: the job object (manifest and every input, framed), one per job;
 * - `results/<jobId>/<first>-<count>`: one result record per completed task range, and
 *   `…<first>-000001~<generation>` for a task run again after it threw (`retries.userCode`):
 *   the first record of a range wins, so a retry needs a key of its own;
 * - `results/<jobId>/<first>-<count>.started-<attempt>`: an empty object an asynchronous
 *   invocation writes when it starts, and `….failed-<attempt>`, what a platform that saw it fail
 *   without a record says; beside the records, so that the one listing that finds records also
 *   finds these signals.
 *
 * - `corrupt/<key>.<time>`: an object set aside because it broke the protocol (see `set-aside.ts`).
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

  /**
   * Zero-padded so that listings come back in task order. `generation` counts how many times the
   * range was run again after its task threw (0: the range as planned or split).
   */
  resultKey(jobId: string, first: number, count: number, generation = 0): string {
    const range = `${String(first).padStart(10, '0')}-${String(count).padStart(6, '0')}`;
    return `${this.resultsPrefix(jobId)}${range}${generation > 0 ? `~${generation}` : ''}`;
  }

  /** The task range (and generation) a result key stands for, or `undefined` for a foreign key. */
  parseResultKey(jobId: string, key: string): RecordRange | undefined {
    const name = key.slice(this.resultsPrefix(jobId).length);
    const match = /^(\d{10})-(\d{6})(?:~(\d+))?$/.exec(name);
    return match ? { first: Number(match[1]), count: Number(match[2]), generation: Number(match[3] ?? 0) } : undefined;
  }

  /** Where attempt `attempt` at a range says it started (asynchronous invocations only). */
  startedKey(jobId: string, range: RecordRange, attempt: number): string {
    return `${this.resultKey(jobId, range.first, range.count, range.generation)}.started-${attempt}`;
  }

  /** Where the platform reports that attempt `attempt` at a range failed without a record (asynchronous invocations only). */
  failedKey(jobId: string, range: RecordRange, attempt: number): string {
    return `${this.resultKey(jobId, range.first, range.count, range.generation)}.failed-${attempt}`;
  }

  /** The signal a key stands for (its kind, range and attempt), or `undefined` for any other key. */
  parseSignalKey(jobId: string, key: string): InvocationSignal | undefined {
    const name = key.slice(this.resultsPrefix(jobId).length);
    const match = /^(\d{10})-(\d{6})(?:~(\d+))?\.(started|failed)-(\d+)$/.exec(name);
    if (!match) return undefined;
    return { kind: match[4] as InvocationSignal['kind'], first: Number(match[1]), count: Number(match[2]), generation: Number(match[3] ?? 0), attempt: Number(match[5]) };
  }

  /** Where an object that broke the protocol is kept once set aside, stamped with when it was found. */
  corruptKey(key: string, found: Date): string {
    const relative = this.prefix && key.startsWith(`${this.prefix}/`) ? key.slice(this.prefix.length + 1) : key;
    return this.join(`corrupt/${relative}.${found.toISOString().replace(/[-:.]/g, '')}`);
  }

  /**
   * The prefixes under which a job's objects are kept once set aside: its records' copies, and
   * those of its job object (`corrupt/jobs/<id>.<time>`), so that `clean` deletes them with it.
   */
  corruptPrefixesOf(jobId: string): string[] {
    return [this.join(`corrupt/results/${jobId}/`), this.join(`corrupt/jobs/${jobId}.`)];
  }

  jobIdFromKey(key: string): string | undefined {
    const id = key.slice(this.jobsPrefix().length);
    return id && !id.includes('/') ? id : undefined;
  }

  private join(rest: string): string {
    return this.prefix ? `${this.prefix}/${rest}` : rest;
  }
}

/** A task range whose record is kept under its own key: `generation` > 0 for a task run again after it threw. */
export type RecordRange = { first: number; count: number; generation: number };

/** A start or failure signal of one attempt at a task range. */
export type InvocationSignal = RecordRange & { kind: 'started' | 'failed'; attempt: number };

/** A new job id: sortable by creation time, unique without coordination. */
export function newJobId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const random = crypto.getRandomValues(new Uint8Array(4));
  return `${stamp}-${Buffer.from(random).toString('hex')}`;
}
