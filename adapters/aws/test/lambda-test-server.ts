/**
 * A small, protocol-faithful implementation of Lambda's Invoke API, for tests and benchmarks: no
 * Lambda emulator installs here (see EMULATORS.md). It speaks the wire protocol the real
 * `@aws-sdk/client-lambda` parses, and runs handlers in child processes the way Lambda runs
 * them in execution environments:
 *
 * - `POST /2015-03-31/functions/{name}/invocations`, with `X-Amz-Invocation-Type`
 *   `RequestResponse` (200 and the handler's JSON), `Event` (202 at once, run later from a
 *   queue) or `DryRun` (204);
 * - a handler error is `200` with `X-Amz-Function-Error: Unhandled` and
 *   `{ errorType, errorMessage, trace }`; `X-Amz-Log-Type: Tail` adds `X-Amz-Log-Result`, the
 *   base64 of the last 4 KB of the invocation's log (START, output, END, REPORT lines);
 * - service errors carry `X-Amzn-ErrorType`: 404 `ResourceNotFoundException`, 429
 *   `TooManyRequestsException` with `Retry-After` past the function's concurrency (or when told
 *   to throttle), 413 `RequestTooLargeException` past 6 MB (sync) or 256 KB (async), 400
 *   `InvalidRequestContentException` for a body that is not JSON;
 * - each environment is a child process with `--max-old-space-size` set to the function's
 *   memory; it stays warm between invocations, and is killed at the function's timeout, which
 *   is reported as Lambda reports it (`Sandbox.Timedout`, "Task timed out after N.00 seconds").
 *   A process that exits is reported as `Runtime.ExitError`, with "exit status N" or "signal: …".
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

/** One deployed function. */
export type TestFunction = {
  name: string;
  /** The folder holding the function's unpacked code (Lambda's `LAMBDA_TASK_ROOT`). */
  codeDirectory: string;
  /** `file.export`. Default: `index.handler`. */
  handler?: string;
  /** Heap limit of each environment in MiB. Default: 128. */
  memoryMb?: number;
  /** Seconds an invocation may run before it is killed. Default: 3, as on Lambda. */
  timeoutSeconds?: number;
  environment?: Record<string, string>;
  /** Most environments running at once (reserved concurrency). Default: 10. */
  concurrency?: number;
};

export type LambdaTestServerOptions = {
  functions: TestFunction[];
  /** Default: `us-east-1`. */
  region?: string;
  /** Answer `Event` invocations with 202 and run nothing (dispatch benchmarks). Default: `false`. */
  discardEvents?: boolean;
  /** What a 429 carries in `Retry-After`, in seconds. Default: 1. */
  retryAfterSeconds?: number;
};

/** Per-status counts of the answers given, for assertions. */
export type LambdaTestServerStats = {
  requests: number;
  byStatus: Record<number, number>;
  coldStarts: number;
  /** Events accepted and not yet finished. */
  pendingEvents: number;
};

export type LambdaTestServer = {
  /** `http://127.0.0.1:<port>`, for the Lambda client's `endpoint`. */
  endpoint: string;
  stats: LambdaTestServerStats;
  /** Answer the next `count` invocations with 429 TooManyRequestsException, whatever their type. */
  throttleNext(count: number): void;
  /** Resolves once every accepted event has run. */
  drained(): Promise<void>;
  stop(): Promise<void>;
};

/** Lambda's documented limits (bytes). */
const SYNC_REQUEST_LIMIT = 6 * 1024 * 1024;
const ASYNC_REQUEST_LIMIT = 256 * 1024;
const RESPONSE_LIMIT = 6 * 1024 * 1024;
const LOG_TAIL_BYTES = 4096;
const ACCOUNT = '123456789012';

const bootstrapPath = fileURLToPath(new URL('./lambda-test-bootstrap.mjs', import.meta.url));

type Environment = {
  child: ChildProcess;
  busy: boolean;
  ended: boolean;
  log: string;
  maxMemoryUsedMb: number;
  initStartedMs: number;
  initReported: boolean;
  onResult: ((message: ChildResult) => void) | undefined;
  onExit: ((exit: { code: number | null; signal: NodeJS.Signals | null }) => void) | undefined;
};

type ChildResult =
  | { type: 'result'; id: string; ok: true; body: string; maxMemoryUsedMb: number }
  | {
      type: 'result';
      id: string;
      ok: false;
      error: { errorType: string; errorMessage: string; trace: string[] };
      /** The error escaped the handler: the process ends, and its environment with it. */
      fatal?: boolean;
      maxMemoryUsedMb: number;
    };

type Outcome =
  | { kind: 'ok'; body: string; log: string }
  | { kind: 'error'; body: { errorType: string; errorMessage: string; trace?: string[] }; log: string };

type FunctionState = {
  config: Required<Omit<TestFunction, 'environment'>> & { environment: Record<string, string> };
  environments: Environment[];
  running: number;
  events: string[];
};

export async function startLambdaTestServer(options: LambdaTestServerOptions): Promise<LambdaTestServer> {
  const region = options.region ?? 'us-east-1';
  const retryAfterSeconds = options.retryAfterSeconds ?? 1;
  const functions = new Map<string, FunctionState>();
  for (const fn of options.functions) {
    functions.set(fn.name, {
      config: {
        handler: 'index.handler',
        memoryMb: 128,
        timeoutSeconds: 3,
        concurrency: 10,
        ...fn,
        environment: fn.environment ?? {},
      },
      environments: [],
      running: 0,
      events: [],
    });
  }
  const stats: LambdaTestServerStats = { requests: 0, byStatus: {}, coldStarts: 0, pendingEvents: 0 };
  let throttleRemaining = 0;
  let stopped = false;
  let drainWaiters: (() => void)[] = [];

  const arn = (name: string) => `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`;

  function send(response: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer = ''): void {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    response.writeHead(status, { 'x-amzn-RequestId': randomUUID(), 'Content-Length': String(bytes.byteLength), ...headers });
    response.end(bytes);
  }

  function serviceError(response: ServerResponse, status: number, type: string, message: string, extra: Record<string, string> = {}, fields: object = {}): void {
    send(response, status, { 'Content-Type': 'application/json', 'X-Amzn-ErrorType': type, ...extra }, JSON.stringify({ Type: 'User', message, ...fields }));
  }

  function spawnEnvironment(state: FunctionState): Environment {
    const { config } = state;
    const child = fork(bootstrapPath, [], {
      // Its own process group, so that ending the environment ends every process in it, as
      // Lambda ends a sandbox: the handler's worker child too, even one stuck in a loop that
      // never reads the disconnect of its parent.
      detached: true,
      cwd: config.codeDirectory,
      execArgv: [`--max-old-space-size=${config.memoryMb}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Lambda's environment: the function's variables and the platform's own, not the caller's shell.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_LAMBDA_FUNCTION_NAME: config.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(config.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_ACCESS_KEY_ID: 'ASIATESTSERVER',
        AWS_SECRET_ACCESS_KEY: 'test-server-secret',
        AWS_SESSION_TOKEN: 'test-server-session',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        LAMBDA_TASK_ROOT: config.codeDirectory,
        _HANDLER: config.handler,
        ...config.environment,
      },
    });
    const environment: Environment = {
      child,
      busy: false,
      ended: false,
      log: '',
      maxMemoryUsedMb: 0,
      initStartedMs: Date.now(),
      initReported: false,
      onResult: undefined,
      onExit: undefined,
    };
    const append = (chunk: Buffer) => {
      environment.log = (environment.log + chunk.toString('utf8')).slice(-4 * LOG_TAIL_BYTES);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.on('message', (message: ChildResult | { type: 'ready' }) => {
      if (message.type === 'result') {
        environment.maxMemoryUsedMb = message.maxMemoryUsedMb;
        if (!message.ok && message.fatal) environment.ended = true;
        environment.onResult?.(message);
      }
    });
    // A bootstrap that ended by itself ends its environment: what it started goes with it (and
    // would otherwise hold the log pipe open, so that 'close' never came).
    child.on('exit', () => killGroup(child));
    // 'close' comes after stdio is drained, so V8's out-of-memory message is in the log by then.
    child.on('close', (code, signal) => {
      environment.ended = true;
      state.environments = state.environments.filter((candidate) => candidate !== environment);
      environment.onExit?.({ code, signal });
    });
    child.on('error', () => undefined);
    stats.coldStarts += 1;
    state.environments.push(environment);
    return environment;
  }

  function run(state: FunctionState, event: string): Promise<Outcome> {
    const { config } = state;
    const requestId = randomUUID();
    let environment = state.environments.find((candidate) => !candidate.busy && !candidate.ended);
    const cold = environment === undefined;
    environment ??= spawnEnvironment(state);
    const env = environment;
    env.busy = true;
    env.log = '';
    state.running += 1;
    const startedMs = Date.now();
    const header = `START RequestId: ${requestId} Version: $LATEST\n`;
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      const finish = (outcome: { kind: 'ok'; body: string } | { kind: 'error'; body: { errorType: string; errorMessage: string; trace?: string[] } }, status?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        env.onResult = undefined;
        env.onExit = undefined;
        env.busy = false;
        state.running -= 1;
        const durationMs = Date.now() - startedMs;
        const initMs = cold && !env.initReported ? startedMs - env.initStartedMs + 1 : undefined;
        env.initReported = true;
        // Lambda's own format: every field followed by a tab. Since August 2025 the billed
        // duration of a cold start includes its initialization.
        const billedMs = Math.max(1, Math.ceil(durationMs + (initMs ?? 0)));
        const report =
          `END RequestId: ${requestId}\n` +
          `REPORT RequestId: ${requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${billedMs} ms\t` +
          `Memory Size: ${config.memoryMb} MB\tMax Memory Used: ${env.maxMemoryUsedMb} MB\t` +
          `${initMs === undefined ? '' : `Init Duration: ${initMs.toFixed(2)} ms\t`}${status ? `Status: ${status}\t` : ''}\n`;
        resolve({ ...outcome, log: header + env.log + report } as Outcome);
        setImmediate(() => pump(state));
      };
      const timer = setTimeout(() => {
        // Lambda stops the environment at the timeout and starts a new one for the next call.
        env.log += `${new Date().toISOString()} ${requestId} Task timed out after ${config.timeoutSeconds.toFixed(2)} seconds\n`;
        env.ended = true;
        killGroup(env.child);
        finish(
          {
            kind: 'error',
            body: { errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${config.timeoutSeconds.toFixed(2)} seconds` },
          },
          'timeout',
        );
      }, config.timeoutSeconds * 1000);
      env.onResult = (message) => {
        if (message.ok) finish({ kind: 'ok', body: message.body });
        else finish({ kind: 'error', body: message.error });
      };
      env.onExit = ({ code, signal }) => {
        const how = signal ? `signal: ${signalName(signal)}` : `exit status ${code}`;
        finish(
          {
            kind: 'error',
            body: { errorType: signal === 'SIGKILL' ? 'Runtime.OutOfMemory' : 'Runtime.ExitError', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${how}` },
          },
          'error',
        );
      };
      env.child.send({ type: 'invoke', id: requestId, requestId, event, deadlineMs: startedMs + config.timeoutSeconds * 1000 });
    });
  }

  /** Run queued events while the function has free concurrency. */
  function pump(state: FunctionState): void {
    while (!stopped && state.events.length > 0 && state.running < state.config.concurrency) {
      const event = state.events.shift()!;
      void run(state, event).finally(() => {
        stats.pendingEvents -= 1;
        if (stats.pendingEvents === 0) {
          for (const resolve of drainWaiters.splice(0)) resolve();
        }
      });
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    stats.requests += 1;
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations(?:\?.*)?$/.exec(request.url ?? '');
    if (request.method !== 'POST' || !match) {
      return serviceError(response, 404, 'UnknownOperationException', `Unknown operation ${request.method} ${request.url}`);
    }
    const requested = decodeURIComponent(match[1]!);
    const name = requested.startsWith('arn:') ? requested.split(':')[6] ?? '' : requested;
    const state = functions.get(name);
    if (!state) return serviceError(response, 404, 'ResourceNotFoundException', `Function not found: ${arn(name)}`);
    const type = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (throttleRemaining > 0) {
      throttleRemaining -= 1;
      return serviceError(response, 429, 'TooManyRequestsException', 'Rate Exceeded.', { 'Retry-After': String(retryAfterSeconds) }, { Reason: 'CallerRateLimitExceeded' });
    }
    if (type === 'DryRun') return send(response, 204, {});
    const limit = type === 'Event' ? ASYNC_REQUEST_LIMIT : SYNC_REQUEST_LIMIT;
    if (body.byteLength > limit) {
      return serviceError(response, 413, 'RequestTooLargeException', `Request must be smaller than ${limit} bytes for the InvokeFunction operation`);
    }
    const event = body.byteLength === 0 ? '{}' : body.toString('utf8');
    try {
      JSON.parse(event);
    } catch {
      return serviceError(response, 400, 'InvalidRequestContentException', 'Could not parse request body into json: Unexpected character');
    }
    if (type === 'Event') {
      send(response, 202, {});
      if (options.discardEvents) return;
      stats.pendingEvents += 1;
      state.events.push(event);
      pump(state);
      return;
    }
    if (type !== 'RequestResponse') {
      return serviceError(response, 400, 'InvalidParameterValueException', `Unsupported invocation type ${type}`);
    }
    if (state.running >= state.config.concurrency) {
      return serviceError(
        response,
        429,
        'TooManyRequestsException',
        'Rate Exceeded.',
        { 'Retry-After': String(retryAfterSeconds) },
        { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' },
      );
    }
    const outcome = await run(state, event);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Amz-Executed-Version': '$LATEST' };
    if (String(request.headers['x-amz-log-type'] ?? '') === 'Tail') {
      headers['X-Amz-Log-Result'] = Buffer.from(Buffer.from(outcome.log).subarray(-LOG_TAIL_BYTES)).toString('base64');
    }
    if (outcome.kind === 'error') {
      return send(response, 200, { ...headers, 'X-Amz-Function-Error': 'Unhandled' }, JSON.stringify(outcome.body));
    }
    if (Buffer.byteLength(outcome.body) > RESPONSE_LIMIT) {
      return send(
        response,
        200,
        { ...headers, 'X-Amz-Function-Error': 'Unhandled' },
        JSON.stringify({ errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size exceeded maximum allowed payload size (${RESPONSE_LIMIT} bytes).` }),
      );
    }
    return send(response, 200, headers, outcome.body);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) serviceError(response, 500, 'ServiceException', String(error));
    });
  });
  // Clients keep connections open across thousands of invocations.
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.maxHeadersCount = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    throttleNext(count: number) {
      throttleRemaining = count;
    },
    drained() {
      if (stats.pendingEvents === 0) return Promise.resolve();
      return new Promise<void>((resolve) => drainWaiters.push(resolve));
    },
    async stop() {
      stopped = true;
      drainWaiters.splice(0).forEach((resolve) => resolve());
      const exits: Promise<void>[] = [];
      for (const state of functions.values()) {
        for (const environment of state.environments) {
          if (environment.ended) continue;
          exits.push(new Promise<void>((resolve) => environment.child.once('close', () => resolve())));
          killGroup(environment.child);
        }
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all(exits);
    },
  };
}

/** Signal names as Lambda (a Go program) prints them. */

/** End an environment: every process of its group, the bootstrap and whatever it started. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // The group is gone already.
  }
}

function signalName(signal: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = { SIGKILL: 'killed', SIGABRT: 'aborted (core dumped)', SIGSEGV: 'segmentation fault', SIGTERM: 'terminated' };
  return names[signal] ?? signal.toLowerCase();
}
