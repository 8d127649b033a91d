/**
 * Every mapping of Redis client and server failures to fanout error codes, in one place, so that
 * each storage operation classifies the same failure the same way.
 */
import { abortError } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError } from '@fanout/spec';

/** What the storage was doing, for error messages. */
export type RedisFailureContext = {
  /** A verb phrase such as `read` or `list keys under`. */
  operation: string;
  /** The storage key or prefix concerned. */
  key: string;
  /** Where the server is, without credentials. */
  server: string;
  signal?: AbortSignal | undefined;
  /**
   * The last connection-level error the client reported, if any. ioredis gives queued commands
   * only a generic "max retries" error when the server cannot be reached; this says why.
   */
  lastConnectionError?: Error | undefined;
};

// Socket errors that say the server is (for now) unreachable or went away: worth a retry.
const transientSocketCodes: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

// Server replies that describe a passing state of the server (loading a dump, a running script,
// a failover in progress) rather than a problem with the request.
const transientReplyPrefixes = ['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN', 'READONLY', 'OOM'];

/**
 * Turn whatever ioredis rejected with into a `FanoutError`. Errors that already are one pass
 * through. Unreachable servers and passing server states are `BACKEND_UNAVAILABLE` (retryable);
 * refused credentials are `ACCESS_DENIED`; a full client table is `THROTTLED`.
 */
export function mapRedisError(error: unknown, context: RedisFailureContext): FanoutError {
  if (FanoutError.isInstance(error)) return error;
  if (context.signal?.aborted) return abortError(context.signal);
  const where = `Redis storage at ${context.server} could not ${context.operation} ${JSON.stringify(context.key)}`;
  const name = errorName(error);
  const message = error instanceof Error ? error.message : String(error);

  if (name === 'ReplyError') return mapReplyError(message, where, error);

  if (name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable/i.test(message) || isTransientSocketError(error)) {
    // These say "not connected" without saying why; the connection error says why.
    const reason = context.lastConnectionError?.message ?? message;
    if (isReplyErrorMessage(reason, ['NOAUTH', 'WRONGPASS', 'NOPERM'])) return mapReplyError(reason, where, error);
    return unavailable(`${where}: the server cannot be reached (${reason}). Check that Redis is running at ${context.server}.`, error);
  }
  if (/Command timed out/i.test(message)) {
    return unavailable(`${where}: the command took longer than commandTimeoutMs. The server may be overloaded or hung.`, error);
  }
  return unavailable(`${where}: ${message}`, error);
}

function mapReplyError(message: string, where: string, cause: unknown): FanoutError {
  if (isReplyErrorMessage(message, ['NOAUTH', 'WRONGPASS', 'NOPERM'])) {
    return new FanoutError(
      `${where}: the server refused the credentials or permissions (${message}). Put the right user and password in storage.options.url (redis://user:password@host:port), and give that user access to the namespace's keys and to EVALSHA, MULTI, GET, GETRANGE, SET, DEL, ZADD, ZREM, ZRANGE, HSET, HDEL and HMGET.`,
      { code: ErrorCode.ACCESS_DENIED, fault: 'caller', cause },
    );
  }
  if (message.startsWith('ERR max number of clients reached')) {
    return new FanoutError(`${where}: the server has no connection left (${message}). Lower the concurrency or raise maxclients.`, {
      code: ErrorCode.THROTTLED,
      retryable: true,
      fault: 'backend',
      cause,
    });
  }
  if (message.startsWith('WRONGTYPE')) {
    return new FanoutError(
      `${where}: a key in the namespace holds data of another type (${message}), so something other than this adapter writes there. Choose another storage.options.namespace.`,
      { code: ErrorCode.PROTOCOL_ERROR, fault: 'caller', cause },
    );
  }
  if (isReplyErrorMessage(message, transientReplyPrefixes)) {
    return unavailable(`${where}: the server is temporarily unable to serve it (${message}).`, cause);
  }
  // Any other reply (an unknown command on a server older than Redis 6.2, a renamed command)
  // will fail the same way again: retrying cannot help.
  return new FanoutError(`${where}: the server refused the command (${message}). This adapter needs Redis 6.2 or later.`, {
    code: ErrorCode.BACKEND_UNAVAILABLE,
    retryable: false,
    fault: 'backend',
    cause,
  });
}

/** The error for an object larger than Redis stores in one string. */
export function objectTooLargeError(key: string, size: number, limit: number): FanoutError {
  // The spec names no code for "object over maxObjectBytes"; PAYLOAD_TOO_LARGE is the closest:
  // the caller sent more bytes than the backend declared it accepts.
  return new FanoutError(
    `Redis storage cannot store ${JSON.stringify(key)}: it is ${size} bytes and a Redis string holds at most ${limit} bytes. Store smaller objects.`,
    { code: ErrorCode.PAYLOAD_TOO_LARGE, fault: 'caller' },
  );
}

/** The server part of a Redis URL with any user name and password removed, for messages. */
export function describeServer(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'the configured URL';
  }
}

function unavailable(message: string, cause: unknown): FanoutError {
  return new FanoutError(message, { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true, fault: 'backend', cause });
}

function isReplyErrorMessage(message: string, prefixes: readonly string[]): boolean {
  return prefixes.some((prefix) => message === prefix || message.startsWith(`${prefix} `));
}

function errorName(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' ? name : undefined;
}

function isTransientSocketError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && transientSocketCodes.has(code);
}
