import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { availableParallelism } from 'node:os';
import { abortError, disposedError, DispatchThreadPool, encodeJsonPayload, jsonPayloadSize, requestTimeouts } from '@fanout/adapter-kit';
import {
  ErrorCode,
  FanoutError,
  type ComputeBackendV1,
  type ComputeCapabilitiesV1,
  type InvocationPayloadV1,
  type InvokeOptions,
  type InvokeResultV1,
} from '@fanout/spec';
import { clientConfig, createSocketPool, recordRequestSites } from './aws-clients.js';
import { parseRuntimeResponse, recordOfResponse } from '@fanout/worker';
import { classifyFunctionError, mapAwsError, type LambdaFunctionErrorBody } from './aws-errors.js';
import {
  DEFAULT_ARCHITECTURE,
  DEFAULT_CONCURRENCY,
  DEFAULT_FUNCTION_NAME,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MEMORY_MB,
  DEFAULT_TIMEOUT_SECONDS,
  type AwsConnectionOptions,
} from './aws-options.js';
import { LAMBDA_ASYNC_PAYLOAD_BYTES, LAMBDA_SYNC_PAYLOAD_BYTES, MAX_RESPONSE_RECORD_BYTES } from './lambda-protocol.js';
import { lambdaPrices } from './aws-prices.js';

/** What an {@link AwsCompute} is built from: the validated options, or the same by hand in code. */
export type AwsComputeSettings = AwsConnectionOptions & {
  /** The deployed runtime function. Default: `fanout-runtime`. */
  functionName?: string;
  /** The function's memory in MiB, as deployed; declared as `maxMemoryMb`. Default: 1024. */
  memoryMb?: number;
  /** The function's timeout in seconds, as deployed; declared as `maxTimeoutMs`. Default: 300. */
  timeoutSeconds?: number;
  /** The function's architecture, as deployed; it sets the declared price per GB-second. Default: `arm64`. */
  architecture?: 'arm64' | 'x86_64';
  /** Declared `defaultConcurrency`. Default: 100. */
  concurrency?: number;
  /** Declared `maxConcurrency`, and the number of sockets the client opens at most. Default: 1000. */
  maxConcurrency?: number;
  /**
   * Worker threads that send invocations, each with its own client and a share of the sockets;
   * `0` sends them from the calling thread. An Invoke costs the SDK about 0.6 ms of CPU, so one
   * thread tops out near 1,500 a second; see docs/decisions/0010. The threads start once 16
   * invocations are in flight at once, so small jobs never pay for them. Ignored with `client`.
   * Default: the number of cores, at most 4 (none on one core).
   */
  dispatchThreads?: number;
  /** A ready client, for tests or custom middleware; the connection settings are then ignored. */
  client?: LambdaClient;
};

/** The thread module, from `dist` whether this file runs from `src` (tests) or `dist`. */
const DISPATCH_THREAD_ENTRY = new URL('../dist/aws-dispatch-thread.js', import.meta.url);

/** Invocations in flight from the calling thread at which the dispatch threads are started. */
const DISPATCH_THREADS_AFTER_IN_FLIGHT = 16;

/** Default {@link AwsComputeSettings.dispatchThreads}: none on one core, where a thread gains nothing. */
export function defaultDispatchThreads(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(4, cores);
}

/**
 * Compute on AWS Lambda: each invocation runs the generic worker in the function `fanout deploy`
 * created. Synchronous invocations (`RequestResponse`) return the record in the response;
 * asynchronous ones (`Event`) return once Lambda queued the work, and the record appears in S3.
 *
 * The SDK never retries (core owns retries, by failure class). One client keeps up to
 * `maxConcurrency` connections alive, which sustains thousands of invocations in flight.
 */
export class AwsCompute implements ComputeBackendV1 {
  readonly specificationVersion = 'v1';
  readonly name = 'lambda';
  readonly capabilities: ComputeCapabilitiesV1;
  readonly functionName: string;
  /** The client of synchronous invocations (and of both kinds when the settings gave one). */
  readonly client: LambdaClient;
  /** The client of asynchronous (Event) invocations: the same sockets, with a response timeout. */
  private readonly eventClient: LambdaClient;

  private readonly ownsClient: boolean;
  private readonly threads: DispatchThreadPool | undefined;
  /** Invocations sent from this thread and not answered yet. */
  private inFlightHere = 0;
  private disposed = false;

  constructor(settings: AwsComputeSettings = {}) {
    this.functionName = settings.functionName ?? DEFAULT_FUNCTION_NAME;
    const maxConcurrency = settings.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
    const concurrency = settings.concurrency ?? Math.min(DEFAULT_CONCURRENCY, maxConcurrency);
    if (!Number.isSafeInteger(maxConcurrency) || maxConcurrency < 1 || !Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > maxConcurrency) {
      throw new TypeError(`AwsCompute needs 1 <= concurrency <= maxConcurrency, got ${concurrency} and ${maxConcurrency}.`);
    }
    this.ownsClient = settings.client === undefined;
    const timeouts = requestTimeouts(settings);
    if (settings.client) {
      this.client = settings.client;
      this.eventClient = settings.client;
    } else {
      const connection = { region: settings.region, endpoint: settings.endpoint, profile: settings.profile, credentials: settings.credentials };
      // A synchronous invocation is silent until its tasks are done, for as long as the job's
      // timeoutMs, and core aborts it at its deadline; an Event invocation is answered as soon as
      // Lambda has queued it. Two clients, one socket pool: the same sockets, each request
      // bounded as its kind allows, and no per-call options, which would defeat cacheMiddleware.
      const sockets = createSocketPool(maxConcurrency);
      const lambdaClient = (responseTimeoutMs: number | undefined) => {
        const bounds = { connectTimeoutMs: timeouts.connectTimeoutMs, responseTimeoutMs };
        const client = new LambdaClient({
          ...clientConfig(connection, sockets, bounds),
          // Resolve the middleware stack once per command type instead of on every send: on the
          // dispatch path, which sends thousands of Invokes a second, that was the largest cost.
          cacheMiddleware: true,
        });
        recordRequestSites(client, bounds);
        return client;
      };
      this.client = lambdaClient(undefined);
      this.eventClient = lambdaClient(timeouts.responseTimeoutMs);
    }
    const threads = settings.client ? 0 : (settings.dispatchThreads ?? defaultDispatchThreads());
    if (!Number.isSafeInteger(threads) || threads < 0) throw new TypeError(`AwsCompute needs dispatchThreads >= 0, got ${threads}.`);
    if (threads > 0 && DispatchThreadPool.available(DISPATCH_THREAD_ENTRY)) {
      const { client: _client, ...plain } = settings;
      const socketsPerThread = Math.ceil(maxConcurrency / threads);
      const perThread: AwsComputeSettings = {
        ...plain,
        concurrency: Math.min(concurrency, socketsPerThread),
        maxConcurrency: socketsPerThread,
        dispatchThreads: 0,
      };
      this.threads = new DispatchThreadPool({
        entry: DISPATCH_THREAD_ENTRY,
        settings: perThread,
        threads,
        name: 'Lambda',
        // The SDK's notice about Node versions was this process's to give, once; not once per thread.
        env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
    }
    this.capabilities = {
      syncInvoke: true,
      asyncInvoke: true,
      maxPayloadBytes: { sync: LAMBDA_SYNC_PAYLOAD_BYTES, async: LAMBDA_ASYNC_PAYLOAD_BYTES },
      maxResponseBytes: MAX_RESPONSE_RECORD_BYTES,
      maxTimeoutMs: (settings.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
      maxMemoryMb: settings.memoryMb ?? DEFAULT_MEMORY_MB,
      defaultConcurrency: concurrency,
      maxConcurrency,
      classifiesFailures: true,
      prices: lambdaPrices(settings.architecture ?? DEFAULT_ARCHITECTURE),
    };
  }

  /** The payload's size on the wire: JSON, inline inputs in base64. */
  payloadSize(payload: InvocationPayloadV1): number {
    return jsonPayloadSize(payload);
  }

  /** Whether invocations now go out from the dispatch threads (for diagnostics and tests). */
  get dispatchThreadsReady(): boolean {
    return this.threads?.ready ?? false;
  }

  async invoke(payload: InvocationPayloadV1, options: InvokeOptions): Promise<InvokeResultV1> {
    const mode = options?.mode;
    const signal = options?.signal;
    if (mode !== 'sync' && mode !== 'async') {
      throw new TypeError(`invoke needs options.mode "sync" or "async", got ${String(mode)}.`);
    }
    if (this.disposed) throw disposedError('Lambda compute');
    if (signal?.aborted) throw abortError(signal);
    if (this.threads?.ready) {
      this.threads.start(); // replaces a thread that died, if any
      return this.threads.invoke(payload, options);
    }
    // Threads pay for themselves only under load: a small job, `fanout hello` or `call()` never
    // starts them. Once started, invocations go out from here until they have loaded the SDK.
    if (this.inFlightHere >= DISPATCH_THREADS_AFTER_IN_FLIGHT) this.threads?.start();
    this.inFlightHere += 1;
    try {
      return await this.invokeHere(payload, mode, signal);
    } finally {
      this.inFlightHere -= 1;
    }
  }

  private async invokeHere(payload: InvocationPayloadV1, mode: 'sync' | 'async', signal: AbortSignal | undefined): Promise<InvokeResultV1> {
    // Lambda drops an Event invocation's response, so a record must never count on it there.
    const body = encodeJsonPayload(mode === 'async' && payload.respond ? { ...payload, respond: false } : payload);
    const limit = this.capabilities.maxPayloadBytes![mode]!;
    if (body.byteLength > limit) {
      throw new FanoutError(
        `The invocation payload is ${body.byteLength} bytes as JSON; Lambda accepts at most ${limit} in ${mode} mode. Inline inputs that large belong in storage (core does this when payloadSize is consulted).`,
        { code: ErrorCode.PAYLOAD_TOO_LARGE, fault: 'caller' },
      );
    }
    let response: InvokeCommandOutput;
    try {
      if (mode === 'sync') {
        // The log tail explains a crash or an out-of-memory kill; it costs nothing to ask. The
        // call holds its connection until the worker is done, so an abort must close it.
        response = await this.client.send(
          new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'RequestResponse', LogType: 'Tail', Payload: body }),
          { abortSignal: signal },
        );
      } else {
        // Lambda answers an Event call as soon as it has queued it. Sending it without per-call
        // options keeps the SDK's cached middleware stack (cacheMiddleware), the largest saving
        // on the dispatch path; an abort in the meantime is reported once the answer is in.
        response = await this.eventClient.send(new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: body }));
        if (signal?.aborted) throw abortError(signal);
      }
    } catch (error) {
      throw mapAwsError(error, { service: 'Lambda', operation: 'Invoke', target: this.functionName, signal });
    }
    if (mode === 'async') return { mode: 'async' };
    const logTail = response.LogResult ? Buffer.from(response.LogResult, 'base64').toString('utf8') : undefined;
    // What Lambda billed, for core's cost report: it includes a cold start's initialization.
    const billedMs = logTail === undefined ? undefined : billedMsFromLogTail(logTail);
    const billed = billedMs === undefined ? {} : { billedMs };
    if (response.FunctionError) {
      const errorBody = parseFunctionErrorBody(response.Payload);
      // The runtime checks the size first, so this is a record larger than anticipated: it is in S3 regardless.
      if (errorBody.errorType === 'Function.ResponseSizeTooLarge') return { mode: 'sync', record: undefined, ...billed };
      throw classifyFunctionError({ functionName: this.functionName, body: errorBody, logTail });
    }
    const answer = parseRuntimeResponse(
      response.Payload,
      `The Lambda function ${this.functionName}`,
      'Is compute.options.functionName the function `fanout deploy` created?',
    );
    return { mode: 'sync', record: recordOfResponse(answer, `in Lambda function ${this.functionName}`), ...billed };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.threads?.dispose();
    if (this.ownsClient) {
      this.client.destroy();
      this.eventClient.destroy();
    }
  }
}

/** Lambda's `Billed Duration: N ms` field; the fields of its REPORT line are separated by tabs. */
const billedDurationPattern = /(?:^|\s)Billed Duration: (\d+) ms(?:\s|$)/;

/**
 * The billed duration in a decoded log tail, from its last line that starts `REPORT RequestId: `
 * (Lambda writes that line after the function's own output, which may contain anything, even
 * such a line), or `undefined` when there is no such line or it has no well-formed field.
 */
export function billedMsFromLogTail(logTail: string): number | undefined {
  const report = logTail
    .split('\n')
    .findLast((line) => line.startsWith('REPORT RequestId: '));
  const match = report === undefined ? null : billedDurationPattern.exec(report);
  if (!match) return undefined;
  const billedMs = Number(match[1]);
  return Number.isSafeInteger(billedMs) ? billedMs : undefined;
}

function parseFunctionErrorBody(payload: Uint8Array | undefined): LambdaFunctionErrorBody {
  const text = Buffer.from(payload ?? new Uint8Array(0)).toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null) return parsed as LambdaFunctionErrorBody;
  } catch {
    // Not JSON: keep the text as the message.
  }
  return { errorMessage: text };
}
