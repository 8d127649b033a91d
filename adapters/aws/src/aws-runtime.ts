/**
 * The Lambda entry point (`index.handler` in the deployed zip): it wraps one generic `Worker`
 * per execution environment, so a warm container keeps its imported code bundles, and opens S3
 * from the function's environment, set by `fanout deploy`. Payloads carry no configuration.
 */
import { format } from 'node:util';
import { Worker as Thread } from 'node:worker_threads';
import { base64, decodeJsonPayload } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { transportWorkerError, Worker } from '@fanout/worker';
import { AwsStorage } from './aws-storage.js';
import { MAX_RESPONSE_RECORD_BYTES, RUNTIME_RESPONSE_VERSION, TIMEOUT_MARKER, type RuntimeResponse } from './lambda-protocol.js';

/**
 * The function's environment variables, set by `fanout deploy` from the storage options. They
 * live in the function, never in a client's shell; the `FANOUT_RUNTIME_` prefix keeps them
 * apart from the client's `FANOUT_*` settings.
 */
export const RUNTIME_ENVIRONMENT = {
  /** The bucket (required). */
  bucket: 'FANOUT_RUNTIME_BUCKET',
  /** The storage key prefix inside the bucket, empty or ending with `/`. */
  prefix: 'FANOUT_RUNTIME_PREFIX',
  /** An S3 endpoint URL, for S3-compatible stores and emulators. */
  endpoint: 'FANOUT_RUNTIME_S3_ENDPOINT',
  /** `true` for path-style addressing. */
  forcePathStyle: 'FANOUT_RUNTIME_S3_FORCE_PATH_STYLE',
} as const;

/** Where verified code bundles are kept; `/tmp` is the only writable folder on Lambda, and it lives as long as the container. */
export const CODE_DIRECTORY = '/tmp/fanout-code';

/** The storage settings the runtime environment describes, as `fanout deploy` writes them. */
export type RuntimeStorageSettings = {
  bucket: string;
  prefix: string;
  endpoint?: string | undefined;
  forcePathStyle?: boolean | undefined;
};

/** The function environment for these storage settings. */
export function runtimeEnvironmentFor(settings: RuntimeStorageSettings): Record<string, string> {
  return {
    [RUNTIME_ENVIRONMENT.bucket]: settings.bucket,
    ...(settings.prefix ? { [RUNTIME_ENVIRONMENT.prefix]: settings.prefix } : {}),
    ...(settings.endpoint ? { [RUNTIME_ENVIRONMENT.endpoint]: settings.endpoint } : {}),
    ...(settings.forcePathStyle ? { [RUNTIME_ENVIRONMENT.forcePathStyle]: 'true' } : {}),
  };
}

/** Open the storage the environment describes. Region and credentials come from Lambda's own variables. */
export function storageFromEnvironment(env: Record<string, string | undefined>): AwsStorage {
  const bucket = env[RUNTIME_ENVIRONMENT.bucket];
  if (!bucket) {
    throw new FanoutError(
      `The Lambda function's environment has no ${RUNTIME_ENVIRONMENT.bucket}, so the worker does not know its bucket. Deploy the function with \`fanout deploy\`.`,
      { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
    );
  }
  const endpoint = env[RUNTIME_ENVIRONMENT.endpoint];
  return new AwsStorage({
    bucket,
    prefix: env[RUNTIME_ENVIRONMENT.prefix] ?? '',
    forcePathStyle: env[RUNTIME_ENVIRONMENT.forcePathStyle] === 'true',
    ...(endpoint ? { endpoint } : {}),
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    // One invocation at a time per container: a handful of sockets is plenty.
    maxSockets: 16,
    // A throttled or dropped request is retried here: failing the invocation would re-run its tasks.
    maxAttempts: 3,
  });
}

/** The parts of Lambda's context object the handler reads. */
export type LambdaContext = {
  awsRequestId?: string;
  functionName?: string;
  getRemainingTimeInMillis?: () => number;
};

let worker: Worker | undefined;

/**
 * Stops an invocation at its payload's `timeoutMs`, which is usually shorter than the function's
 * own timeout: a task stuck in a loop would otherwise run (and bill) until Lambda's timeout. A
 * loop blocks this thread's timers, so the watch runs on a thread of its own; past the deadline
 * it writes {@link TIMEOUT_MARKER} to stderr and kills the process, and Lambda starts a fresh
 * execution environment for the next invocation.
 */
class Watchdog {
  // The generation of the invocation running now, 0 when idle; shared so that the check is never stale.
  private readonly running = new Int32Array(new SharedArrayBuffer(4));
  private readonly thread: Thread;
  private generation = 0;

  constructor() {
    this.thread = new Thread(WATCHDOG_SOURCE, { eval: true, workerData: { running: this.running, marker: TIMEOUT_MARKER } });
    // Idle, the watch must not keep the process alive (or a test's process, or a local runner's).
    this.thread.unref();
  }

  start(timeoutMs: number): void {
    this.generation = this.generation >= 2 ** 30 ? 1 : this.generation + 1;
    Atomics.store(this.running, 0, this.generation);
    this.thread.postMessage({ generation: this.generation, deadlineMs: Date.now() + timeoutMs, timeoutMs });
  }

  stop(): void {
    Atomics.store(this.running, 0, 0);
  }
}

const WATCHDOG_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { writeSync } = require('node:fs');
const { running, marker } = workerData;
let timer;
parentPort.on('message', ({ generation, deadlineMs, timeoutMs }) => {
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (Atomics.load(running, 0) !== generation) return;
    try { writeSync(2, marker + ' (' + timeoutMs + ' ms); stopping this execution environment.\\n'); } catch {}
    process.kill(process.pid, 'SIGKILL');
  }, Math.min(2147483647, Math.max(0, deadlineMs - Date.now())));
});
`;

let watchdog: Watchdog | undefined;

/**
 * Lambda's Node runtime writes `console` output straight to its log descriptor, past
 * `process.stdout`, where the worker captures a task's output for the record's log tail. Send
 * `console` through the process streams instead; Lambda collects those as well.
 */
function routeConsoleThroughStreams(): void {
  const streams = { log: process.stdout, info: process.stdout, debug: process.stdout, warn: process.stderr, error: process.stderr } as const;
  for (const [method, stream] of Object.entries(streams)) {
    (console as unknown as Record<string, (...values: unknown[]) => void>)[method] = (...values: unknown[]) => {
      stream.write(`${format(...values)}\n`);
    };
  }
}

function workerForThisContainer(): Worker {
  if (!worker) {
    if (process.env.AWS_LAMBDA_FUNCTION_NAME) routeConsoleThroughStreams();
    worker = new Worker({ storage: storageFromEnvironment(process.env), codeDirectory: CODE_DIRECTORY });
  }
  return worker;
}

/**
 * Run one invocation. The record comes back in the response when the payload asks for it
 * (synchronous mode) and fits, and is written to S3 unless it came back and the payload says
 * `durable: false`. A failure of the
 * invocation as a whole is returned, not thrown: Lambda would retry a thrown asynchronous
 * invocation on its own, and core owns retries.
 */
export async function handler(event: unknown, _context?: LambdaContext): Promise<RuntimeResponse> {
  watchdog ??= new Watchdog();
  try {
    const payload = decodeJsonPayload(event);
    if (typeof payload.timeoutMs === 'number' && payload.timeoutMs > 0) watchdog.start(payload.timeoutMs);
    const { encoded, respond } = await workerForThisContainer().handle(payload, { maxResponseBytes: MAX_RESPONSE_RECORD_BYTES });
    if (respond) return { fanout: RUNTIME_RESPONSE_VERSION, record: base64(encoded) };
    return { fanout: RUNTIME_RESPONSE_VERSION, stored: true };
  } catch (error) {
    return { fanout: RUNTIME_RESPONSE_VERSION, error: transportWorkerError(error, 'The Lambda runtime') };
  } finally {
    watchdog.stop();
  }
}
