import { describeValue, isHttpUrl, isIntegerBetween, optionError, optionsRecord, parseKeyPrefixOption, parseRequestTimeouts, REQUEST_TIMEOUT_OPTIONS } from '@fanout/adapter-kit';
import type { PluginContextV1 } from '@fanout/spec';

/**
 * Static credentials. Prefer the SDK's default chain (environment, `~/.aws`, SSO, instance or
 * container roles): these exist for S3-compatible stores and tests, and end up wherever the
 * options are written.
 */
export type AwsCredentialsOption = {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
};

/** Where and as whom the SDK connects; shared by the storage and compute options. */
export type AwsConnectionOptions = {
  /**
   * AWS region, such as `eu-west-1`. Default: the SDK's chain (`AWS_REGION`, then the profile's
   * `region` in `~/.aws/config`); `us-east-1` when `endpoint` is set and no region is found.
   */
  region?: string;
  /**
   * Service endpoint URL, for S3-compatible stores (MinIO, Ceph, R2) and emulators. Default: the
   * AWS endpoint of the region.
   */
  endpoint?: string;
  /** Named profile of `~/.aws/config` and `~/.aws/credentials`. Default: `AWS_PROFILE`, then `default`. */
  profile?: string;
  /** Static credentials; see {@link AwsCredentialsOption}. Default: the SDK's credential chain. */
  credentials?: AwsCredentialsOption;
  /**
   * Milliseconds a new connection (DNS lookup and TCP connect, and any wait for a free socket of
   * the client's pool) may take before its request fails with `BACKEND_UNAVAILABLE`, retryable.
   * Default: 10000.
   */
  connectTimeoutMs?: number;
  /**
   * Milliseconds a connection may stay silent, while a request is sent or its answer awaited or
   * received, before the request fails with `BACKEND_UNAVAILABLE`, retryable. It measures
   * silence, not the whole exchange, so a large upload or download that keeps moving is never
   * cut off. It bounds every S3 request, and asynchronous (`Event`) invocations, which Lambda
   * answers once it has queued them; a synchronous invocation answers when its tasks are done,
   * and core's per-invocation deadline (the job's `timeoutMs`) bounds it instead. Default: 30000.
   */
  responseTimeoutMs?: number;
};

/** Options of the S3 storage, as written under `storage.options` in configuration. */
export type AwsStorageOptions = AwsConnectionOptions & {
  /** The bucket. Required. `fanout deploy` creates it when it does not exist. */
  bucket?: string;
  /**
   * Key prefix inside the bucket, so that one bucket can hold other data or several teams' jobs;
   * a `/` is appended when missing. The runtime's IAM policy is limited to it. Default: none
   * (the whole bucket).
   */
  prefix?: string;
  /**
   * Address the bucket as `endpoint/bucket/key` instead of `bucket.endpoint/key`. Most
   * S3-compatible stores need it. Default: `false`.
   */
  forcePathStyle?: boolean;
  /**
   * Used by `fanout deploy` only: job objects and result records (`jobs/` and `results/` under
   * the configured fanout prefix) expire after this many days through a bucket lifecycle rule,
   * so forgotten jobs stop costing storage. `0` means never. Code bundles never expire.
   * Default: 7.
   */
  expireJobDataAfterDays?: number;
};

/** Options of the Lambda compute, as written under `compute.options` in configuration. */
export type AwsComputeOptions = AwsConnectionOptions & {
  /** Name of the deployed runtime function. Default: `fanout-runtime`. */
  functionName?: string;
  /**
   * Memory of the function in MiB, 128 to 10240; Lambda gives CPU in proportion (one full vCPU
   * at 1769). Applied by `fanout deploy`, declared as `maxMemoryMb`. Default: 1024.
   */
  memoryMb?: number;
  /**
   * Timeout of the function in seconds, 1 to 900. Applied by `fanout deploy`, declared as
   * `maxTimeoutMs`: a job's `timeoutMs` may not exceed it. Default: 300.
   */
  timeoutSeconds?: number;
  /** Processor architecture, `arm64` (Graviton, about 20% cheaper per GB-second) or `x86_64`. Default: `arm64`. */
  architecture?: 'arm64' | 'x86_64';
  /** Lambda runtime identifier, `nodejs<major>.x`. Default: `nodejs22.x`. */
  runtime?: string;
  /** Invocations in flight when a job sets none (the declared `defaultConcurrency`). Default: 100. */
  concurrency?: number;
  /**
   * Most invocations in flight (the declared `maxConcurrency`), and the size of the client's
   * socket pool. Keep it at or below the account's concurrency quota (1000 by default).
   * Default: 1000.
   */
  maxConcurrency?: number;
  /**
   * Worker threads that send invocations, each with its own client; `0` sends them from the
   * calling thread. One thread sends about 1,500 invocations a second (the SDK's CPU cost per
   * call); more threads raise that on a machine with cores to spare. Default: the number of
   * cores, at most 4 (none on one core).
   */
  dispatchThreads?: number;
  /** Name of the IAM role `fanout deploy` creates for the function. Default: `<functionName>-role`. */
  roleName?: string;
  /**
   * ARN of an existing role for the function. When set, `fanout deploy` creates no role and
   * `fanout destroy` leaves the role alone. Default: none (a role is managed by deploy).
   */
  roleArn?: string;
};

/** Connection options after validation, with defaults applied. */
export type ResolvedAwsConnection = {
  region: string | undefined;
  endpoint: string | undefined;
  profile: string | undefined;
  credentials: AwsCredentialsOption | undefined;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
};

/** Storage options after validation, with defaults applied. */
export type ResolvedAwsStorageOptions = ResolvedAwsConnection & {
  bucket: string;
  /** Empty, or ending with `/`. */
  prefix: string;
  forcePathStyle: boolean;
  expireJobDataAfterDays: number;
};

/** Compute options after validation, with defaults applied. */
export type ResolvedAwsComputeOptions = ResolvedAwsConnection & {
  functionName: string;
  memoryMb: number;
  timeoutSeconds: number;
  architecture: 'arm64' | 'x86_64';
  runtime: string;
  concurrency: number;
  maxConcurrency: number;
  dispatchThreads: number | undefined;
  roleName: string;
  roleArn: string | undefined;
};

export const DEFAULT_FUNCTION_NAME = 'fanout-runtime';
export const DEFAULT_MEMORY_MB = 1024;
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_ARCHITECTURE = 'arm64';
/**
 * Node.js 22 is the newest Lambda runtime whose V8 writes the structured-clone format every
 * supported client (Node 20.19 and later) reads; Node 20 on Lambda reached end of support in
 * April 2026.
 */
export const DEFAULT_RUNTIME = 'nodejs22.x';
export const DEFAULT_CONCURRENCY = 100;
/** The default concurrent-executions quota of an AWS account per region. */
export const DEFAULT_MAX_CONCURRENCY = 1000;
export const DEFAULT_EXPIRE_JOB_DATA_AFTER_DAYS = 7;

// The request timeouts every cloud adapter shares (their defaults and why: adapter-kit).
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS, MAX_REQUEST_TIMEOUT_MS } from '@fanout/adapter-kit';

/** Lambda's limits on function settings. */
export const LAMBDA_MIN_MEMORY_MB = 128;
export const LAMBDA_MAX_MEMORY_MB = 10_240;
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/** The most dispatch threads a client may ask for: past a few, the socket pool and memory grow for nothing. */
export const MAX_DISPATCH_THREADS = 32;

/** The most in flight one client is allowed to ask for: far above any account quota, a guard against typos. */
export const MAX_CONCURRENCY_LIMIT = 100_000;

const connectionKeys = ['region', 'endpoint', 'profile', 'credentials', ...REQUEST_TIMEOUT_OPTIONS] as const;
const storageKeys = [...connectionKeys, 'bucket', 'prefix', 'forcePathStyle', 'expireJobDataAfterDays'] as const;
const computeKeys = [
  ...connectionKeys,
  'functionName',
  'memoryMb',
  'timeoutSeconds',
  'architecture',
  'runtime',
  'concurrency',
  'maxConcurrency',
  'dispatchThreads',
  'roleName',
  'roleArn',
] as const;

/**
 * Validate storage options from configuration. Throws `CONFIG_INVALID` naming
 * `${context.configPath}.<key>` for an unknown key, a missing bucket or a bad value.
 */
export function parseAwsStorageOptions(options: unknown, context: Pick<PluginContextV1, 'configPath'>): ResolvedAwsStorageOptions {
  const record = optionsRecord(options, context, { adapter: 'aws', known: storageKeys, example: '{ bucket: "my-team-fanout" }' });
  const connection = parseConnection(record, context);
  const { bucket } = record;
  if (bucket === undefined) {
    throw optionError(
      context,
      'bucket',
      'is required: name the S3 bucket that carries code, inputs and results, such as { bucket: "my-team-fanout" }. `fanout deploy` creates it if it does not exist.',
    );
  }
  if (typeof bucket !== 'string' || !isBucketName(bucket)) {
    throw optionError(
      context,
      'bucket',
      `must be an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit), got ${describeValue(bucket)}.`,
    );
  }
  const prefix = parseKeyPrefixOption(record.prefix, context);
  const forcePathStyle = record.forcePathStyle ?? false;
  if (typeof forcePathStyle !== 'boolean') {
    throw optionError(context, 'forcePathStyle', `must be true or false, got ${describeValue(forcePathStyle)}.`);
  }
  const expireJobDataAfterDays = record.expireJobDataAfterDays ?? DEFAULT_EXPIRE_JOB_DATA_AFTER_DAYS;
  if (!isIntegerBetween(expireJobDataAfterDays, 0, 36_500)) {
    throw optionError(
      context,
      'expireJobDataAfterDays',
      `must be a whole number of days from 0 (never expire) to 36500, got ${describeValue(expireJobDataAfterDays)}. Leave it out for ${DEFAULT_EXPIRE_JOB_DATA_AFTER_DAYS}.`,
    );
  }
  return {
    ...connection,
    bucket,
    prefix,
    forcePathStyle,
    expireJobDataAfterDays,
  };
}

/**
 * Validate compute options from configuration. Throws `CONFIG_INVALID` naming
 * `${context.configPath}.<key>` for an unknown key or a bad value.
 */
export function parseAwsComputeOptions(options: unknown, context: Pick<PluginContextV1, 'configPath'>): ResolvedAwsComputeOptions {
  const record = optionsRecord(options, context, { adapter: 'aws', known: computeKeys, example: '{ functionName: "fanout-runtime", memoryMb: 1024 }' });
  const connection = parseConnection(record, context);
  const functionName = record.functionName ?? DEFAULT_FUNCTION_NAME;
  if (typeof functionName !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(functionName)) {
    throw optionError(
      context,
      'functionName',
      `must be a Lambda function name (1 to 64 letters, digits, hyphens and underscores), got ${describeValue(functionName)}. Leave it out for "${DEFAULT_FUNCTION_NAME}".`,
    );
  }
  const memoryMb = record.memoryMb ?? DEFAULT_MEMORY_MB;
  if (!isIntegerBetween(memoryMb, LAMBDA_MIN_MEMORY_MB, LAMBDA_MAX_MEMORY_MB)) {
    throw optionError(
      context,
      'memoryMb',
      `must be a whole number of MiB from ${LAMBDA_MIN_MEMORY_MB} to ${LAMBDA_MAX_MEMORY_MB} (Lambda's range), got ${describeValue(memoryMb)}. Leave it out for ${DEFAULT_MEMORY_MB}.`,
    );
  }
  const timeoutSeconds = record.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  if (!isIntegerBetween(timeoutSeconds, 1, LAMBDA_MAX_TIMEOUT_SECONDS)) {
    throw optionError(
      context,
      'timeoutSeconds',
      `must be a whole number of seconds from 1 to ${LAMBDA_MAX_TIMEOUT_SECONDS} (Lambda's range), got ${describeValue(timeoutSeconds)}. Leave it out for ${DEFAULT_TIMEOUT_SECONDS}.`,
    );
  }
  const architecture = record.architecture ?? DEFAULT_ARCHITECTURE;
  if (architecture !== 'arm64' && architecture !== 'x86_64') {
    throw optionError(context, 'architecture', `must be "arm64" or "x86_64", got ${describeValue(architecture)}.`);
  }
  const runtime = record.runtime ?? DEFAULT_RUNTIME;
  if (typeof runtime !== 'string' || !/^nodejs\d+\.x$/.test(runtime)) {
    throw optionError(
      context,
      'runtime',
      `must be a Lambda Node.js runtime such as "nodejs22.x", got ${describeValue(runtime)}. The worker is a Node program; other languages cannot run it.`,
    );
  }
  const maxConcurrency = record.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY;
  if (!isIntegerBetween(maxConcurrency, 1, MAX_CONCURRENCY_LIMIT)) {
    throw optionError(
      context,
      'maxConcurrency',
      `must be a whole number from 1 to ${MAX_CONCURRENCY_LIMIT}, got ${describeValue(maxConcurrency)}. Leave it out for ${DEFAULT_MAX_CONCURRENCY}, the default account quota.`,
    );
  }
  const concurrency = record.concurrency ?? Math.min(DEFAULT_CONCURRENCY, maxConcurrency);
  if (!isIntegerBetween(concurrency, 1, maxConcurrency)) {
    throw optionError(
      context,
      'concurrency',
      `must be a whole number from 1 to maxConcurrency (${maxConcurrency}), got ${describeValue(concurrency)}. Leave it out for ${Math.min(DEFAULT_CONCURRENCY, maxConcurrency)}.`,
    );
  }
  const dispatchThreads = record.dispatchThreads;
  if (dispatchThreads !== undefined && !isIntegerBetween(dispatchThreads, 0, MAX_DISPATCH_THREADS)) {
    throw optionError(
      context,
      'dispatchThreads',
      `must be a whole number from 0 (send from the calling thread) to ${MAX_DISPATCH_THREADS}, got ${describeValue(dispatchThreads)}. Leave it out for one per core, at most 4.`,
    );
  }
  const roleName = record.roleName ?? `${functionName}-role`;
  if (typeof roleName !== 'string' || !/^[\w+=,.@-]{1,64}$/.test(roleName)) {
    throw optionError(
      context,
      'roleName',
      `must be an IAM role name (1 to 64 letters, digits and +=,.@_-), got ${describeValue(roleName)}. Leave it out for "${functionName}-role".`,
    );
  }
  const roleArn = record.roleArn;
  if (roleArn !== undefined && (typeof roleArn !== 'string' || !/^arn:aws[\w-]*:iam::\d{12}:role\/.+$/.test(roleArn))) {
    throw optionError(
      context,
      'roleArn',
      `must be the ARN of an IAM role, such as "arn:aws:iam::123456789012:role/my-role", got ${describeValue(roleArn)}. Leave it out to let fanout deploy create one.`,
    );
  }
  return {
    ...connection,
    functionName,
    memoryMb,
    timeoutSeconds,
    architecture,
    runtime,
    concurrency,
    maxConcurrency,
    dispatchThreads: dispatchThreads as number | undefined,
    roleName,
    roleArn,
  };
}

function parseConnection(record: Record<string, unknown>, context: Pick<PluginContextV1, 'configPath'>): ResolvedAwsConnection {
  const { region, endpoint, profile, credentials } = record;
  if (region !== undefined && (typeof region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))) {
    throw optionError(context, 'region', `must be an AWS region such as "eu-west-1", got ${describeValue(region)}.`);
  }
  if (endpoint !== undefined && (typeof endpoint !== 'string' || !isHttpUrl(endpoint))) {
    throw optionError(context, 'endpoint', `must be an http or https URL such as "http://127.0.0.1:9000", got ${describeValue(endpoint)}.`);
  }
  if (profile !== undefined && (typeof profile !== 'string' || profile === '')) {
    throw optionError(context, 'profile', `must be the name of a profile in ~/.aws/config, got ${describeValue(profile)}.`);
  }
  if (credentials !== undefined && !isCredentials(credentials)) {
    throw optionError(
      context,
      'credentials',
      'must be { accessKeyId, secretAccessKey, sessionToken? } with string values. Better, leave it out and let the SDK find credentials (environment, ~/.aws, roles).',
    );
  }
  const { connectTimeoutMs, responseTimeoutMs } = parseRequestTimeouts(record, context);
  return {
    region: region as string | undefined,
    endpoint: endpoint as string | undefined,
    profile: profile as string | undefined,
    credentials: credentials as AwsCredentialsOption | undefined,
    connectTimeoutMs,
    responseTimeoutMs,
  };
}

function isBucketName(name: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) && !name.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(name);
}


function isCredentials(value: unknown): value is AwsCredentialsOption {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  const known = ['accessKeyId', 'secretAccessKey', 'sessionToken'];
  return (
    Object.keys(record).every((key) => known.includes(key)) &&
    typeof record.accessKeyId === 'string' &&
    record.accessKeyId !== '' &&
    typeof record.secretAccessKey === 'string' &&
    record.secretAccessKey !== '' &&
    (record.sessionToken === undefined || typeof record.sessionToken === 'string')
  );
}

