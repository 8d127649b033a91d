import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { requestTimeouts, type RequestSite, type RequestTimeouts } from '@fanout/adapter-kit';
import type { AwsConnectionOptions } from './aws-options.js';

/** The region used when none is configured but an endpoint is: S3-compatible stores ignore it. */
export const ENDPOINT_DEFAULT_REGION = 'us-east-1';

/** Kept-alive sockets, for one client or for clients that share them (Lambda's sync and async clients). */
export type SocketPool = { httpAgent: HttpAgent; httpsAgent: HttpsAgent };

/**
 * A pool that keeps connections alive and opens up to `maxSockets` at once, so that one client
 * sustains thousands of requests in flight without a TLS handshake per request.
 */
export function createSocketPool(maxSockets: number): SocketPool {
  const agentOptions = { keepAlive: true, maxSockets, keepAliveMsecs: 30_000 };
  return { httpAgent: new HttpAgent(agentOptions), httpsAgent: new HttpsAgent(agentOptions) };
}

/**
 * An HTTP handler over `pool` that fails a request whose connection is not open within
 * `connectTimeoutMs` (DNS lookup included), or that stays silent for `responseTimeoutMs`.
 *
 * The silence is smithy's `socketTimeout`: no byte sent or received for that long, in any phase
 * of the exchange, so neither a slow large upload nor a long ranged download is cut off while it
 * moves. Its `requestTimeout` is the other kind, a limit on the whole exchange up to the
 * answer's headers (and only a warning without `throwOnRequestTimeout`), which a large upload
 * may legitimately pass. smithy starts watching silence of 6 s or more 3 s into a request (it
 * saves setting a timer on every short one), so the first silence may last up to 3 s longer.
 */
export function createHttpHandler(pool: SocketPool, timeouts: RequestTimeouts): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: timeouts.connectTimeoutMs,
    ...(timeouts.responseTimeoutMs !== undefined ? { socketTimeout: timeouts.responseTimeoutMs } : {}),
    httpAgent: pool.httpAgent,
    httpsAgent: pool.httpsAgent,
  });
}

/**
 * The SDK client settings shared by every client fanout makes: no SDK retries (core owns
 * retries, by failure class), bounded requests, and the configured region, endpoint, profile and
 * credentials. `sockets` is the most connections to open, or a pool shared with another client;
 * `timeouts` default to the connection's.
 */
export function clientConfig(connection: AwsConnectionOptions, sockets: number | SocketPool, timeouts: RequestTimeouts = requestTimeouts(connection)) {
  const pool = typeof sockets === 'number' ? createSocketPool(sockets) : sockets;
  return {
    maxAttempts: 1,
    requestHandler: createHttpHandler(pool, timeouts),
    ...(connection.region ? { region: connection.region } : connection.endpoint ? { region: ENDPOINT_DEFAULT_REGION } : {}),
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    ...(connection.profile ? { profile: connection.profile } : {}),
    // A copy: the SDK marks the credentials object it is given ($source), which would change the caller's options.
    ...(connection.credentials ? { credentials: { ...connection.credentials } } : {}),
  };
}

/**
 * The site of each request that failed, by its error, and of each answer that streams, by its
 * body: SDK errors from the network say neither, and a message about a silent or unreachable
 * endpoint is of little use without them.
 */
const requestSites = new WeakMap<object, RequestSite>();

/** Where the request that failed with this error, or that returned this body, went. */
export function requestSiteOf(value: unknown): RequestSite | undefined {
  return typeof value === 'object' && value !== null ? requestSites.get(value) : undefined;
}

type SentRequest = { protocol?: string; hostname?: string; port?: number };
// The middleware never reads a command's input: `never` fits every client's stack, S3's and Lambda's.
type FinalizeHandler = (args: { input: never; request: unknown }) => Promise<{ output: unknown; response: unknown }>;
type SiteRecordingStack = {
  add(middleware: (next: FinalizeHandler) => FinalizeHandler, options: { step: 'finalizeRequest'; priority: 'low'; name: string }): void;
};

/**
 * Make `client`, whose handler has `timeouts`, record each request's site for
 * {@link requestSiteOf}. The middleware runs inside the SDK's retries and after signing, once the
 * endpoint (a bucket's virtual host included) is resolved.
 */
export function recordRequestSites(client: { middlewareStack: SiteRecordingStack }, timeouts: RequestTimeouts): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const endpoint = endpointOfRequest(args.request as SentRequest | undefined);
      const site = endpoint === undefined ? undefined : { endpoint, timeouts };
      try {
        const result = await next(args);
        const body = (result.output as { Body?: unknown } | undefined)?.Body;
        if (site && typeof body === 'object' && body !== null) requestSites.set(body, site);
        return result;
      } catch (error) {
        if (site && typeof error === 'object' && error !== null) requestSites.set(error, site);
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'fanoutRequestSite' },
  );
}

function endpointOfRequest(request: SentRequest | undefined): string | undefined {
  if (!request?.hostname) return undefined;
  const port = request.port ?? (request.protocol === 'http:' ? 80 : 443);
  return `${request.hostname}:${port}`;
}
