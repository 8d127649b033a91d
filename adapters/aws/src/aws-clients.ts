import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ResolvedAwsConnection } from './aws-options.js';

/** How long opening a connection may take before the request fails (and core may retry). */
export const CONNECTION_TIMEOUT_MS = 10_000;

/** The region used when none is configured but an endpoint is: S3-compatible stores ignore it. */
export const ENDPOINT_DEFAULT_REGION = 'us-east-1';

/**
 * An HTTP handler that keeps connections alive and opens up to `maxSockets` at once, so that
 * one client sustains thousands of requests in flight without a TLS handshake per request.
 * No request timeout: a synchronous Lambda invocation legitimately lasts up to 15 minutes, and
 * core's per-invocation deadline aborts what takes too long.
 */
export function createHttpHandler(maxSockets: number): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets, keepAliveMsecs: 30_000 };
  return new NodeHttpHandler({
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
  });
}

/**
 * The SDK client settings shared by every client fanout makes: no SDK retries (core owns
 * retries, by failure class), and the configured region, endpoint, profile and credentials.
 */
export function clientConfig(connection: ResolvedAwsConnection, maxSockets: number) {
  return {
    maxAttempts: 1,
    requestHandler: createHttpHandler(maxSockets),
    ...(connection.region ? { region: connection.region } : connection.endpoint ? { region: ENDPOINT_DEFAULT_REGION } : {}),
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    ...(connection.profile ? { profile: connection.profile } : {}),
    // A copy: the SDK marks the credentials object it is given ($source), which would change the caller's options.
    ...(connection.credentials ? { credentials: { ...connection.credentials } } : {}),
  };
}
