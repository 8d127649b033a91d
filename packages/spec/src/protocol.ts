/**
 * The job protocol between the client (core) and the generic worker. Compute backends carry
 * payloads and records without looking inside them, except to measure their size.
 *
 * A job's inputs are serialized one by one and framed (a 4-byte little-endian length, then the
 * bytes). An invocation runs a contiguous range of tasks. Its framed inputs travel inline in the
 * payload when they fit the backend's budget, and otherwise are read by the worker with one
 * ranged GET from the job's aggregated input object.
 */

/** Current protocol version. Workers refuse payloads of another version with `PROTOCOL_ERROR`. */
export const PROTOCOL_VERSION = 1;

/**
 * Largest result record, in bytes. Clients read records whole, so anything larger where a record
 * belongs is refused by its size before it is read; workers never write one (the tasks whose
 * results would not fit fail with `PAYLOAD_TOO_LARGE`).
 */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** Where an invocation's framed inputs are. */
export type InvocationInputsV1 =
  | {
      /** The framed inputs themselves. */
      inline: Uint8Array;
    }
  | {
      /** Storage key of the job's aggregated input object. */
      key: string;
      /** The byte range of this invocation's framed inputs within it. */
      start: number;
      end: number;
    };

/** What a compute backend delivers to the worker for one invocation. Contains no configuration or credentials. */
export type InvocationPayloadV1 = {
  protocol: typeof PROTOCOL_VERSION;
  jobId: string;
  /** 1 for the first attempt at this task range, incremented on every retry or backup. */
  attempt: number;
  code: {
    /** Storage key of the bundled ES module. */
    key: string;
    /** Lowercase hex SHA-256 of the bundle; the worker verifies it before import. */
    sha256: string;
    /** Name of the export to call, `default` for inline functions. */
    exportName: string;
  };
  /** Index of the first task and how many consecutive tasks this invocation runs. */
  tasks: { first: number; count: number };
  inputs: InvocationInputsV1;
  /** Storage key the worker writes its result record to, with a conditional create. */
  resultKey: string;
  /**
   * Whether the caller reads the record from the invocation's response (synchronous mode).
   * The record is written to storage as well, except as `durable` says.
   */
  respond: boolean;
  /**
   * `false`: a record that goes back in the response is not written to storage; the caller
   * holds the only copy, so a re-attached job runs those tasks again. A record too large for
   * the response, or one asked for with `respond: false`, is written regardless. Absent means
   * `true`: every record is written, so that a client that crashed can re-attach.
   *
   * A backend that returns records in synchronous responses must honour it (the conformance
   * suite checks it); runtimes built on `Worker.handle` do when they pass their response budget.
   */
  durable?: boolean;
  /** Milliseconds the invocation may run; the backend kills it after this. */
  timeoutMs: number;
  /**
   * Asynchronous invocations only: a storage key the worker writes an empty object to as soon
   * as it starts, before it fetches anything, so the client learns within seconds that an
   * invocation the platform accepted was dropped (no signal) rather than at its deadline. The
   * object is not awaited before the tasks run, and failing to write it does not fail the
   * invocation. Absent in synchronous mode, where the response itself says the invocation ran.
   */
  startedKey?: string;
  /**
   * Asynchronous invocations only: where the platform, not the worker, writes a
   * {@link InvocationFailureV1} when it sees the invocation fail without a record (the worker
   * process died, the runtime could not start): the platform's failure destination, written
   * under the job's own prefix. A compute backend that can see such failures writes it (the local
   * backend does); one that cannot leaves the client to judge by time.
   */
  failedKey?: string;
};

/** What a platform reports at `failedKey` about an asynchronous invocation that ended without a record. */
export type InvocationFailureV1 = {
  protocol: typeof PROTOCOL_VERSION;
  /** The error code the failure maps to, such as `WORKER_CRASHED` or `OUT_OF_MEMORY`. */
  code: string;
  message: string;
  /** Absent: the code's default (crashes and timeouts are retried). */
  retryable?: boolean;
  /** The last few kilobytes the invocation wrote, when the platform has them. */
  logTail?: string;
};

/** A task's error as it travels back from the worker. */
export type SerializedErrorV1 = {
  /** Stable code, `USER_CODE_ERROR` when the task threw. */
  code: string;
  /** The thrown value's `name`, such as `TypeError`. */
  name: string;
  message: string;
  /** The stack as the worker saw it. */
  stack?: string;
};

/** How one task ended. */
export type TaskOutcomeV1 =
  | { ok: true; value: unknown; durationMs: number }
  | { ok: false; error: SerializedErrorV1; durationMs: number };

/** Storage requests by kind, as counted by the request-counting wrapper. */
export type StorageRequestCounts = {
  get: number;
  getRange: number;
  head: number;
  put: number;
  create: number;
  list: number;
  delete: number;
  bytesRead: number;
  bytesWritten: number;
};

/** The one record a worker writes per invocation. */
export type ResultRecordV1 = {
  protocol: typeof PROTOCOL_VERSION;
  jobId: string;
  attempt: number;
  tasks: { first: number; count: number };
  /** One outcome per task, in task order. */
  outcomes: TaskOutcomeV1[];
  /** Epoch milliseconds. */
  startedMs: number;
  finishedMs: number;
  /** Whether this invocation had to fetch and import the code bundle. */
  coldStart: boolean;
  /** The last few kilobytes the tasks wrote to stdout and stderr. */
  logTail: string;
  /** The worker's own storage requests for this invocation, the record's write included. */
  storage: StorageRequestCounts;
  /**
   * `true` when the payload had a `startedKey` and the worker wrote its start signal before this
   * record. A record of an asynchronous invocation without it comes from a worker that writes no
   * start signals (an older deployed worker): the client then judges that lane by deadlines alone.
   */
  signalled?: boolean;
};
