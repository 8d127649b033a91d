import { describeValue, isIntegerBetween, optionError, optionsRecord } from '@fanout/adapter-kit';
import type { PluginContextV1 } from '@fanout/spec';

/** Options of the Redis storage, as written under `storage.options` in configuration. */
export type RedisStorageOptions = {
  /**
   * The server to connect to: `redis://[[user]:password@]host[:port][/database]`, or `rediss://`
   * for TLS. A password written here is a secret: keep the configuration file out of version
   * control, or pass the URL through `FANOUT_STORAGE_OPTIONS`.
   * Default: `redis://127.0.0.1:6379` (database 0, no password).
   */
  url?: string;
  /**
   * Prefix of every Redis key this storage uses, so that several stores (or other applications)
   * can share one database. Letters, digits, `.`, `_` and `-`, at most 100 characters; no `:`,
   * so that one namespace can never be the start of another's keys. Default: `fanout`.
   */
  namespace?: string;
  /**
   * How long to wait for a connection (TCP, TLS and authentication) before a request fails with
   * `BACKEND_UNAVAILABLE`, in milliseconds. Default: 10000.
   */
  connectTimeoutMs?: number;
  /**
   * How long one Redis command may take before it fails with `BACKEND_UNAVAILABLE`, in
   * milliseconds. Large enough for a 512 MiB object over a slow link; it exists so that a hung
   * server cannot hang a job. Default: 60000.
   */
  commandTimeoutMs?: number;
};

/** Options after validation, with every default applied. This is also what `reference.options` holds. */
export type ResolvedRedisStorageOptions = Required<RedisStorageOptions>;

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_NAMESPACE = 'fanout';
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 60_000;

/** Longest timeout accepted (10 minutes): a larger one is almost certainly seconds given as milliseconds the wrong way round. */
export const MAX_TIMEOUT_MS = 10 * 60 * 1000;

/** Longest namespace accepted: it is repeated in front of every key, so it should stay short. */
export const MAX_NAMESPACE_LENGTH = 100;

const namespacePattern = /^[A-Za-z0-9._-]+$/;
const knownOptions = ['url', 'namespace', 'connectTimeoutMs', 'commandTimeoutMs'] as const;

/**
 * Validate storage options from configuration and apply defaults. Throws `CONFIG_INVALID`
 * naming `${context.configPath}.<key>` for an unknown key or a bad value. Accepts its own output
 * unchanged, which is what a local worker process receives through `reference.options`.
 */
export function parseRedisStorageOptions(options: unknown, context: PluginContextV1): ResolvedRedisStorageOptions {
  const record = optionsRecord(options, context, { adapter: 'redis', known: knownOptions, example: `{ url: "${DEFAULT_REDIS_URL}" }` });
  return {
    url: parseUrl(record.url, context),
    namespace: parseNamespace(record.namespace, context),
    connectTimeoutMs: parseTimeout(record.connectTimeoutMs, 'connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS, context),
    commandTimeoutMs: parseTimeout(record.commandTimeoutMs, 'commandTimeoutMs', DEFAULT_COMMAND_TIMEOUT_MS, context),
  };
}

function parseUrl(value: unknown, context: PluginContextV1): string {
  if (value === undefined) return DEFAULT_REDIS_URL;
  const example = `Use a URL such as "${DEFAULT_REDIS_URL}" or "rediss://:password@redis.example.com:6380/2", or leave it out for the default "${DEFAULT_REDIS_URL}".`;
  if (typeof value !== 'string' || value.trim() === '') {
    throw optionError(context, 'url', `must be a redis:// or rediss:// URL, got ${describeValue(value)}. ${example}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    // Never echo the value: it may carry a password.
    throw optionError(context, 'url', `is not a valid URL. ${example}`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw optionError(context, 'url', `must use the redis: or rediss: scheme, got "${parsed.protocol}". ${example}`);
  }
  if (parsed.hostname === '') {
    throw optionError(context, 'url', `has no host name. ${example}`);
  }
  const database = parsed.pathname.replace(/^\//, '');
  if (database !== '' && !/^\d+$/.test(database)) {
    throw optionError(context, 'url', `has the path "/${database}", but the only path Redis understands is a database number such as "/2". ${example}`);
  }
  return value;
}

function parseNamespace(value: unknown, context: PluginContextV1): string {
  if (value === undefined) return DEFAULT_NAMESPACE;
  if (typeof value !== 'string' || value.length > MAX_NAMESPACE_LENGTH || !namespacePattern.test(value)) {
    throw optionError(
      context,
      'namespace',
      `must be 1 to ${MAX_NAMESPACE_LENGTH} letters, digits, ".", "_" or "-" (no ":"), got ${describeValue(value)}. Leave it out for the default "${DEFAULT_NAMESPACE}".`,
    );
  }
  return value;
}

function parseTimeout(value: unknown, key: string, fallback: number, context: PluginContextV1): number {
  if (value === undefined) return fallback;
  if (!isIntegerBetween(value, 1, MAX_TIMEOUT_MS)) {
    throw optionError(
      context,
      key,
      `must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}, got ${describeValue(value)}. Leave it out for the default ${fallback}.`,
    );
  }
  return value;
}

