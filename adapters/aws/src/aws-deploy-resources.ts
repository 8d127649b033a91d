/**
 * What `fanout deploy` wants to exist, as data: the role's trust and access policies, the
 * bucket's lifecycle rules, the function's configuration. Kept apart from the deployer so the
 * README and the tests show exactly what is deployed.
 */
import type { LifecycleRule } from '@aws-sdk/client-s3';
import type { ResolvedAwsComputeOptions, ResolvedAwsStorageOptions } from './aws-options.js';
import { RUNTIME_HANDLER } from './aws-bundle.js';
import { runtimeEnvironmentFor } from './aws-runtime-environment.js';

/** The inline policy's name on the runtime role. */
export const ROLE_POLICY_NAME = 'fanout-runtime-access';

/** Tag on what deploy created, so destroy removes only that. */
export const MANAGED_TAG = { Key: 'fanout:managed', Value: 'true' } as const;

/** Lifecycle rules fanout owns carry this ID prefix; other rules of the bucket are left alone. */
export const LIFECYCLE_RULE_PREFIX = 'fanout-';

/**
 * How long Lambda keeps retrying to deliver an asynchronous event it could not run yet
 * (throttled), in seconds. Past an hour the client has long re-invoked on its own deadline.
 */
export const EVENT_MAX_AGE_SECONDS = 3600;

/** A policy document, as IAM stores it. */
export type PolicyDocument = {
  Version: '2012-10-17';
  Statement: Array<{
    Sid?: string;
    Effect: 'Allow' | 'Deny';
    Principal?: Record<string, string | string[]>;
    Action: string | string[];
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
  }>;
};

/** The AWS partition of a region: `aws`, `aws-cn` or `aws-us-gov`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** Only Lambda may assume the runtime role. */
export function trustPolicy(): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  };
}

/**
 * The runtime's permissions, and nothing more: read and write objects under the storage prefix
 * (code bundles and inputs are read, result records written, and tasks may use the prefix for
 * their own data), list only that prefix, and write its own log group.
 */
export function runtimeRolePolicy(parameters: { bucket: string; prefix: string; functionName: string; region: string }): PolicyDocument {
  const partition = partitionOf(parameters.region);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReadCodeAndInputsWriteResults',
        Effect: 'Allow',
        Action: ['s3:GetObject', 's3:PutObject'],
        Resource: `arn:${partition}:s3:::${parameters.bucket}/${parameters.prefix}*`,
      },
      {
        Sid: 'ListOwnPrefix',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: `arn:${partition}:s3:::${parameters.bucket}`,
        Condition: { StringLike: { 's3:prefix': `${parameters.prefix}*` } },
      },
      {
        Sid: 'WriteOwnLogs',
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `arn:${partition}:logs:${parameters.region}:*:log-group:/aws/lambda/${parameters.functionName}:*`,
      },
    ],
  };
}

/**
 * The bucket's lifecycle rules: job objects and result records expire after the configured
 * days (code bundles, shared by jobs, do not), and multipart uploads a crashed client left
 * unfinished are aborted after a day, since their parts are billed while invisible.
 */
export function lifecycleRules(storage: Pick<ResolvedAwsStorageOptions, 'prefix' | 'expireJobDataAfterDays'>, dataPrefix: string): LifecycleRule[] {
  const base = `${storage.prefix}${dataPrefix === '' ? '' : `${dataPrefix.replace(/\/+$/, '')}/`}`;
  const rules: LifecycleRule[] = [];
  if (storage.expireJobDataAfterDays > 0) {
    for (const [id, folder] of [
      ['expire-jobs', 'jobs/'],
      ['expire-results', 'results/'],
    ] as const) {
      rules.push({ ID: `${LIFECYCLE_RULE_PREFIX}${id}`, Status: 'Enabled', Filter: { Prefix: `${base}${folder}` }, Expiration: { Days: storage.expireJobDataAfterDays } });
    }
  }
  rules.push({
    ID: `${LIFECYCLE_RULE_PREFIX}abort-incomplete-uploads`,
    Status: 'Enabled',
    Filter: { Prefix: storage.prefix },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
  });
  return rules;
}

/** The function's settings, as compared with what Lambda reports. */
export type FunctionSettings = {
  runtime: string;
  handler: string;
  memoryMb: number;
  timeoutSeconds: number;
  architecture: 'arm64' | 'x86_64';
  environment: Record<string, string>;
};

export function functionSettings(compute: ResolvedAwsComputeOptions, storage: ResolvedAwsStorageOptions): FunctionSettings {
  return {
    runtime: compute.runtime,
    handler: RUNTIME_HANDLER,
    memoryMb: compute.memoryMb,
    timeoutSeconds: compute.timeoutSeconds,
    architecture: compute.architecture,
    environment: runtimeEnvironmentFor(storage),
  };
}

/** One line for people, such as "1024 MiB, 300 s, arm64, nodejs22.x". */
export function describeFunction(settings: FunctionSettings): string {
  return `${settings.memoryMb} MiB, ${settings.timeoutSeconds} s, ${settings.architecture}, ${settings.runtime}`;
}

/** Compare two JSON-like values structurally, ignoring key order. */
export function sameJson(left: unknown, right: unknown): boolean {
  return JSON.stringify(canonical(left)) === JSON.stringify(canonical(right));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, entry]) => entry !== undefined)
        .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
        .map(([key, entry]) => [key, canonical(entry)]),
    );
  }
  return value;
}

/** IAM returns policy documents URL-encoded. */
export function parsePolicyDocument(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(decodeURIComponent(text));
  } catch {
    return undefined;
  }
}
