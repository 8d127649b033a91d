/**
 * What a Lambda function deployed by `fanout deploy` finds in its environment, and how its worker
 * opens S3 from it: shared by `fanout deploy`, which writes it, and the runtime, which reads it.
 */
import { ErrorCode, FanoutError } from '@fanout/spec';
import { AwsStorage } from './aws-storage.js';

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

