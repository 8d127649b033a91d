import { describeValue, isHttpUrl, optionError, optionsRecord, parseKeyPrefixOption, parseRequestTimeouts, REQUEST_TIMEOUT_OPTIONS, type OptionsContext } from '@fanout/adapter-kit';

/** Options of the Cloud Storage backend, as written under `storage.options` in configuration. */
export type GcpStorageOptions = {
  /** The bucket. Required. */
  bucket?: string;
  /**
   * Key prefix inside the bucket, so that one bucket can hold other data or several teams' jobs;
   * a `/` is appended when missing. Default: none (the whole bucket).
   */
  prefix?: string;
  /**
   * The Google Cloud project. Default: what Application Default Credentials name
   * (`GOOGLE_CLOUD_PROJECT`, the gcloud configuration, the metadata server). Object operations
   * need none; it is sent only where an API asks for one.
   */
  projectId?: string;
  /**
   * The Cloud Storage JSON API's base URL, for a test server or a proxy, such as
   * `http://127.0.0.1:4443`. Requests to a custom endpoint carry no credentials. Default:
   * `https://storage.googleapis.com`.
   */
  endpoint?: string;
  /**
   * Milliseconds a request may take to connect and be answered (its status and headers) before
   * it fails with `BACKEND_UNAVAILABLE`, retryable: the client library has one timer for both, so
   * this is added to `responseTimeoutMs` for it. Default: 10000.
   */
  connectTimeoutMs?: number;
  /**
   * Milliseconds a request may wait for its answer after connecting, and a download may stay
   * silent between two chunks, before it fails with `BACKEND_UNAVAILABLE`, retryable. Default: 30000.
   */
  responseTimeoutMs?: number;
};

/** Storage options after validation, with defaults applied. */
export type ResolvedGcpStorageOptions = {
  bucket: string;
  prefix: string;
  projectId: string | undefined;
  endpoint: string | undefined;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
};

const storageKeys = ['bucket', 'prefix', 'projectId', 'endpoint', ...REQUEST_TIMEOUT_OPTIONS] as const;

/**
 * Validate storage options from configuration. Throws `CONFIG_INVALID` naming
 * `${context.configPath}.<key>` for an unknown key, a missing bucket or a bad value.
 */
export function parseGcpStorageOptions(options: unknown, context: OptionsContext): ResolvedGcpStorageOptions {
  const record = optionsRecord(options, context, { adapter: 'gcp', known: storageKeys, example: '{ bucket: "my-team-fanout" }' });
  const { bucket, projectId, endpoint } = record;
  if (bucket === undefined) {
    throw optionError(context, 'bucket', 'is required: name the Cloud Storage bucket that carries code, inputs and results, such as { bucket: "my-team-fanout" }.');
  }
  if (typeof bucket !== 'string' || !isBucketName(bucket)) {
    throw optionError(
      context,
      'bucket',
      `must be a Cloud Storage bucket name (3 to 63 lowercase letters, digits, hyphens, underscores and dots, starting and ending with a letter or digit, not starting with "goog"), got ${describeValue(bucket)}.`,
    );
  }
  if (projectId !== undefined && (typeof projectId !== 'string' || !/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(projectId))) {
    throw optionError(context, 'projectId', `must be a Google Cloud project ID (6 to 30 lowercase letters, digits and hyphens, starting with a letter), got ${describeValue(projectId)}.`);
  }
  if (endpoint !== undefined && (typeof endpoint !== 'string' || !isHttpUrl(endpoint))) {
    throw optionError(context, 'endpoint', `must be an http(s) URL such as "http://127.0.0.1:4443", got ${describeValue(endpoint)}. Leave it out for Cloud Storage itself.`);
  }
  return {
    bucket,
    prefix: parseKeyPrefixOption(record.prefix, context),
    projectId: projectId as string | undefined,
    endpoint: endpoint === undefined ? undefined : (endpoint as string).replace(/\/+$/, ''),
    ...parseRequestTimeouts(record, context),
  };
}

/** Cloud Storage's bucket naming rules (cloud.google.com/storage/docs/buckets#naming), for names without dots up to 63 characters and dotted names up to 222. */
function isBucketName(name: string): boolean {
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name) || name.startsWith('goog') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) return false;
  if (!name.includes('.')) return name.length >= 3 && name.length <= 63;
  return name.length <= 222 && name.split('.').every((part) => part.length >= 1 && part.length <= 63);
}
