/**
 * A worker in a child process of its own, supervised by the process that received the
 * invocation: the local pool (one per slot) and a cloud function's handler (one per execution
 * environment). What a task does to its process (`process.exit`, an uncaught error in a callback,
 * a full heap, a loop that never yields) ends the child, not the supervisor, which sees how it
 * ended, says so in a classified error, kills the child at the invocation's deadline from a timer
 * the task cannot block, and starts a fresh child for the next invocation. On a cloud platform
 * that is the difference between a crash the client hears about at once, on a warm environment,
 * and one it must infer from silence, followed by a cold start (see docs/decisions/0014).
 *
 * The child runs {@link serveWorkerProcess} (`worker-process-child.ts`); the messages between
 * them are below.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { ErrorCode, FanoutError, type InvocationPayloadV1 } from '@fanout/spec';
import { rebuildWorkerError, type TransportedWorkerError } from './worker-failure.js';

/** First message to a child, once: what its entry needs to open its worker, and the response limit. */
export type WorkerProcessInit = { type: 'init'; settings: unknown; maxResponseBytes: number };

export type WorkerProcessRequest =
  | WorkerProcessInit
  /** Run one invocation; `respond`: the record is wanted in the reply (synchronous invocations). */
  | { type: 'invoke'; id: number; payload: InvocationPayloadV1; respond: boolean }
  /** Write an encoded invocation failure at `key` (a `failedKey`) with the child's storage. */
  | { type: 'report'; id: number; key: string; failure: Uint8Array };

export type WorkerProcessReply =
  /** The worker is up and the invocation begins: its timeout counts from here. */
  | { type: 'started'; id: number }
  /** `record` is null when it was not asked for or is larger than `maxResponseBytes`. */
  | { type: 'done'; id: number; record: Uint8Array | null }
  /** The invocation could not run at all (a task that throws is a `done` record, not this). */
  | { type: 'failed'; id: number; error: TransportedWorkerError }
  /** The task's code threw outside its call (a timer, a stray promise): the child ends next, and this says why. */
  | { type: 'crashed'; id: number; error: TransportedWorkerError }
  | { type: 'reported'; id: number; ok: boolean };

/**
 * How one invocation ended. `reported`: the worker itself wrote the failure at the payload's
 * `failedKey` (its own refusals); a crash, a timeout or a kill is for the supervisor to report.
 */
export type WorkerProcessOutcome = { record: Uint8Array | undefined } | { error: FanoutError; reported: boolean };

/** How much of a child's stderr is kept for crash reports, in bytes. */
export const STDERR_TAIL_BYTES = 8 * 1024;

/**
 * Time a child may take to start and open its storage before an invocation's own timeout
 * begins. A child that has not started within it is killed as a timeout.
 */
export const START_ALLOWANCE_MS = 30_000;

/** The longest delay `setTimeout` supports (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long to wait for stderr to drain after a child exits before classifying its end. */
const EXIT_DRAIN_MS = 200;

export type WorkerProcessOptions = {
  /** The child's entry file: a module that calls `serveWorkerProcess`. */
  entry: string;
  /** What the child is called in error messages, such as "local worker process". */
  label: string;
  /** Sent to the child's entry before anything else. */
  init: Omit<WorkerProcessInit, 'type'>;
  /** Heap limit of the child in MiB (`--max-old-space-size`). */
  heapMb: number;
  /** The child's whole environment. */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** `inherit` where the platform collects the supervisor's output (a function's log); default `ignore`: the worker captures task output into records. */
  stdout?: 'ignore' | 'inherit';
  /** Copy the child's stderr to this process's stderr as well as keeping its tail. Default: `false`. */
  echoStderr?: boolean;
  /** What to do about a heap that ran out, for the out-of-memory error. */
  memoryAdvice: string;
  /** Appended to a rebuilt worker refusal (`rebuildWorkerError`'s `where`), given its code. */
  refusalHint?: (code: string) => string | undefined;
  /** The child is gone (crashed, exited or stopped); this object will not run anything again. */
  onEnded?: (process: WorkerProcess) => void;
};

type Running = { id: number; payload: InvocationPayloadV1; settle: (outcome: WorkerProcessOutcome) => void; timer: NodeJS.Timeout | undefined };

/** One supervised child running the worker, one invocation at a time. */
export class WorkerProcess {
  /** Settles once the child process is gone. */
  readonly reaped: Promise<void>;
  private readonly child: ChildProcess;
  private current: Running | undefined;
  private readonly reports = new Map<number, (ok: boolean) => void>();
  private stderrTail = '';
  private exit: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
  /** What the child said ended it, when it could (see the `crashed` reply). */
  private crash: TransportedWorkerError | undefined;
  private isEnded = false;
  private nextId = 0;

  /** Starts the child; throws what `fork` throws when it cannot (see {@link spawnError}). */
  constructor(private readonly options: WorkerProcessOptions) {
    this.child = fork(options.entry, [], {
      cwd: options.cwd,
      env: options.env,
      // Structured clone over the channel: Uint8Array payloads and records travel as bytes, not base64.
      serialization: 'advanced',
      stdio: ['ignore', options.stdout ?? 'ignore', 'pipe', 'ipc'],
      // Set explicitly, so that this process's own flags (loaders, a test runner's) do not leak in.
      execArgv: [`--max-old-space-size=${options.heapMb}`],
    });
    let markReaped: () => void = () => undefined;
    this.reaped = new Promise<void>((resolve) => (markReaped = resolve));
    const { child } = this;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_BYTES);
      if (options.echoStderr) process.stderr.write(chunk);
    });
    child.on('message', (reply: WorkerProcessReply) => this.onReply(reply));
    child.on('error', (error) => {
      if (child.pid === undefined) markReaped();
      this.stop(spawnError(options.label, error));
    });
    child.on('exit', (exitCode, signal) => {
      this.exit = { exitCode, signal };
      // Normally 'close' follows once stderr is drained; a grandchild holding the pipe open must not stall us.
      setTimeout(() => this.onChildEnded(), EXIT_DRAIN_MS).unref();
    });
    child.on('close', (exitCode, signal) => {
      this.exit ??= { exitCode, signal };
      markReaped();
      this.onChildEnded();
    });
    child.send({ type: 'init', ...options.init } satisfies WorkerProcessRequest);
    this.setReferenced(false);
  }

  /** Whether the child is gone: nothing more runs here. */
  get ended(): boolean {
    return this.isEnded;
  }

  /** Whether an invocation is running. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /**
   * Run one payload; never rejects. Until the child says the invocation started, the deadline
   * also covers its own start (a cold process, opening storage), which is not the task's time.
   */
  run(payload: InvocationPayloadV1, respond: boolean): Promise<WorkerProcessOutcome> {
    if (this.isEnded) return Promise.resolve({ error: spawnError(this.options.label, new Error('the process has ended')), reported: false });
    if (this.current) throw new Error('WorkerProcess.run: one invocation at a time');
    return new Promise<WorkerProcessOutcome>((settle) => {
      const running: Running = { id: (this.nextId += 1), payload, settle, timer: undefined };
      this.current = running;
      this.stderrTail = '';
      this.crash = undefined;
      this.setReferenced(true);
      this.armTimeout(running, payload.timeoutMs + START_ALLOWANCE_MS);
      try {
        this.child.send({ type: 'invoke', id: running.id, payload, respond } satisfies WorkerProcessRequest, (error) => {
          if (error && this.current === running) this.stop(spawnError(this.options.label, error));
        });
      } catch (error) {
        // The payload itself cannot be serialized; the child is fine and stays.
        this.finish({
          error: new FanoutError(`The invocation payload cannot be sent to the ${this.options.label}: ${(error as Error).message}`, {
            code: ErrorCode.PROTOCOL_ERROR,
            fault: 'caller',
            cause: error,
          }),
          reported: false,
        });
      }
    });
  }

  /** Have the child write `failure` at `key` with its storage; `false` if it could not. Never rejects. */
  report(key: string, failure: Uint8Array): Promise<boolean> {
    if (this.isEnded) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const id = (this.nextId += 1);
      this.reports.set(id, resolve);
      this.setReferenced(true);
      try {
        this.child.send({ type: 'report', id, key, failure } satisfies WorkerProcessRequest, (error) => {
          if (error) this.settleReport(id, false);
        });
      } catch {
        this.settleReport(id, false);
      }
    });
  }

  /** Kill the child; a running invocation ends with `error`. */
  stop(error: FanoutError): void {
    if (this.isEnded) return;
    this.end(error);
    this.child.kill('SIGKILL');
  }

  private armTimeout(running: Running, milliseconds: number): void {
    clearTimeout(running.timer);
    running.timer = setTimeout(
      () => this.stop(timeoutError(this.options.label, running.payload.timeoutMs, this.stderrTail)),
      Math.min(milliseconds, MAX_TIMER_MS),
    );
  }

  private onReply(reply: WorkerProcessReply): void {
    if (reply.type === 'reported') {
      this.settleReport(reply.id, reply.ok);
      return;
    }
    const running = this.current;
    // A reply for an invocation already given up on (timed out, stopped) is stale.
    if (!running || reply.id !== running.id) return;
    if (reply.type === 'started') {
      this.armTimeout(running, running.payload.timeoutMs);
    } else if (reply.type === 'crashed') {
      this.crash = reply.error;
    } else if (reply.type === 'done') {
      const record = reply.record === null ? undefined : new Uint8Array(reply.record.buffer, reply.record.byteOffset, reply.record.byteLength);
      this.finish({ record });
    } else {
      this.finish({ error: rebuildWorkerError(reply.error, this.options.refusalHint?.(reply.error.code)), reported: true });
    }
  }

  /** The child ended on its own (crash, `process.exit`, out of memory) rather than by `stop`. */
  private onChildEnded(): void {
    if (this.isEnded) return;
    const exit = this.exit ?? { exitCode: null, signal: null };
    const logTail = this.stderrTail === '' ? undefined : this.stderrTail;
    this.end(
      this.crash
        ? rebuildWorkerError({ ...this.crash, ...(logTail ? { logTail } : {}) })
        : classifyChildExit(this.options.label, this.options.memoryAdvice, { ...exit, stderrTail: this.stderrTail }),
    );
  }

  private end(error: FanoutError): void {
    this.isEnded = true;
    this.finish({ error, reported: false });
    for (const id of [...this.reports.keys()]) this.settleReport(id, false);
    this.options.onEnded?.(this);
  }

  private finish(outcome: WorkerProcessOutcome): void {
    const running = this.current;
    if (!running) return;
    this.current = undefined;
    clearTimeout(running.timer);
    this.releaseIfIdle();
    running.settle(outcome);
  }

  private settleReport(id: number, ok: boolean): void {
    const resolve = this.reports.get(id);
    if (!resolve) return;
    this.reports.delete(id);
    this.releaseIfIdle();
    resolve(ok);
  }

  /** An idle child must not keep this process's event loop alive. */
  private releaseIfIdle(): void {
    if (!this.current && this.reports.size === 0) this.setReferenced(false);
  }

  private setReferenced(referenced: boolean): void {
    const { child } = this;
    const handles = [child, child.channel, child.stderr] as ({ ref?: () => void; unref?: () => void } | null | undefined)[];
    for (const handle of handles) {
      if (referenced) handle?.ref?.();
      else handle?.unref?.();
    }
  }
}

/** How a child process ended. */
export type ChildExit = {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last {@link STDERR_TAIL_BYTES} the child wrote to stderr. */
  stderrTail: string;
};

/**
 * Classify a child that ended before it reported. V8 prints "JavaScript heap out of memory"
 * (or "Allocation failed" for large single allocations) on stderr when the heap limit is hit,
 * then aborts; that is the task's doing and retrying with the same memory will fail again.
 * Anything else (`process.exit`, a native crash, a kill from outside) may not happen twice.
 */
export function classifyChildExit(label: string, memoryAdvice: string, exit: ChildExit): FanoutError {
  const logTail = exit.stderrTail === '' ? undefined : exit.stderrTail;
  if (/heap out of memory|Allocation failed/.test(exit.stderrTail)) {
    return new FanoutError(`The ${label} ran out of memory. ${memoryAdvice}`, { code: ErrorCode.OUT_OF_MEMORY, retryable: false, fault: 'user-code', logTail });
  }
  const how = exit.signal
    ? `was killed by signal ${exit.signal}${exit.signal === 'SIGKILL' ? ' (often the system running out of memory)' : ''}`
    : `exited with code ${String(exit.exitCode)}`;
  const tailNote = logTail ? ` Its last stderr output:\n${logTail}` : '';
  return new FanoutError(`The ${label} ${how} before it reported a result (does the task call process.exit?).${tailNote}`, {
    code: ErrorCode.WORKER_CRASHED,
    retryable: true,
    fault: 'backend',
    logTail,
  });
}

/** The invocation ran past `timeoutMs` and its process was killed. */
export function timeoutError(label: string, timeoutMs: number, stderrTail: string): FanoutError {
  return new FanoutError(`The invocation ran longer than its ${timeoutMs} ms timeout; its ${label} was killed.`, {
    code: ErrorCode.TIMEOUT,
    retryable: true,
    fault: 'user-code',
    logTail: stderrTail === '' ? undefined : stderrTail,
  });
}

/** A child process could not be started, or its channel failed under a message. */
export function spawnError(label: string, cause: unknown): FanoutError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new FanoutError(`A ${label} could not be started or reached: ${detail}`, { code: ErrorCode.WORKER_CRASHED, retryable: true, fault: 'backend', cause });
}
