/**
 * What deploy and destroy find before they plan: the role, its policy, the bucket with its tags,
 * lifecycle rules and emptiness, the function and its asynchronous-invocation settings. Reads
 * only, in parallel; "does not exist" is an answer, any other failure is mapped and thrown.
 */
import { GetRoleCommand, GetRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { GetFunctionCommand, GetFunctionEventInvokeConfigCommand, type FunctionConfiguration, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  GetBucketLifecycleConfigurationCommand,
  GetBucketTaggingCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { LIFECYCLE_RULE_PREFIX, MANAGED_TAG, parsePolicyDocument, ROLE_POLICY_NAME } from './aws-deploy-resources.js';
import { awsErrorName, httpStatus, isNotFound, mapAwsError } from './aws-errors.js';
import type { ResolvedAwsComputeOptions, ResolvedAwsStorageOptions } from './aws-options.js';

/** The SDK clients deploy and destroy use. */
export type DeployClients = { iam: IAMClient; s3: S3Client; lambda: LambdaClient };

/** What exists now. */
export type ObservedDeployment = {
  /** The managed role, if it exists (never read when the options name a `roleArn`). */
  role: { arn: string; trust: unknown } | undefined;
  /** The role's inline policy, parsed; `undefined` when absent. */
  rolePolicy: unknown;
  bucket: { exists: boolean; managed: boolean; empty: boolean };
  /** Every lifecycle rule of the bucket, fanout's and others'. */
  lifecycle: LifecycleRule[];
  function: FunctionConfiguration | undefined;
  asyncConfig: { MaximumRetryAttempts?: number | undefined; MaximumEventAgeInSeconds?: number | undefined } | undefined;
};

/** Whether a lifecycle rule is one of fanout's. */
export function isOurRule(rule: LifecycleRule): boolean {
  return rule.ID?.startsWith(LIFECYCLE_RULE_PREFIX) ?? false;
}

/** Read the current state of everything deploy manages. */
export async function observeDeployment(
  clients: DeployClients,
  compute: ResolvedAwsComputeOptions,
  storage: ResolvedAwsStorageOptions,
  signal: AbortSignal | undefined,
): Promise<ObservedDeployment> {
  const { iam, lambda } = clients;
  const absent = <T>(read: () => Promise<T>, service: string, operation: string, target: string) =>
    read().catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw mapAwsError(error, { service, operation, target, signal });
    });
  const managedRole = compute.roleArn === undefined;
  const { functionName, roleName } = compute;
  const [role, rolePolicy, bucket, func, asyncConfig] = await Promise.all([
    managedRole ? absent(() => iam.send(new GetRoleCommand({ RoleName: roleName }), { abortSignal: signal }), 'IAM', 'GetRole', roleName) : undefined,
    managedRole
      ? absent(() => iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: ROLE_POLICY_NAME }), { abortSignal: signal }), 'IAM', 'GetRolePolicy', roleName)
      : undefined,
    observeBucket(clients.s3, storage.bucket, signal),
    absent(() => lambda.send(new GetFunctionCommand({ FunctionName: functionName }), { abortSignal: signal }), 'Lambda', 'GetFunction', functionName),
    absent(
      () => lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: functionName }), { abortSignal: signal }),
      'Lambda',
      'GetFunctionEventInvokeConfig',
      functionName,
    ),
  ]);
  return {
    role: role?.Role?.Arn ? { arn: role.Role.Arn, trust: parsePolicyDocument(role.Role.AssumeRolePolicyDocument) } : undefined,
    rolePolicy: rolePolicy ? (parsePolicyDocument(rolePolicy.PolicyDocument) ?? null) : undefined,
    bucket: bucket.state,
    lifecycle: bucket.lifecycle,
    function: func?.Configuration,
    asyncConfig: func && asyncConfig ? asyncConfig : undefined,
  };
}

async function observeBucket(
  s3: S3Client,
  bucket: string,
  signal: AbortSignal | undefined,
): Promise<{ state: ObservedDeployment['bucket']; lifecycle: LifecycleRule[] }> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: signal });
  } catch (error) {
    if (httpStatus(error) === 404 || awsErrorName(error) === 'NotFound' || awsErrorName(error) === 'NoSuchBucket') {
      return { state: { exists: false, managed: false, empty: true }, lifecycle: [] };
    }
    if (httpStatus(error) === 403) {
      throw new FanoutError(
        `The bucket ${bucket} exists but these credentials cannot use it: S3 bucket names are global, so it may belong to another account. Choose another storage.options.bucket.`,
        { code: ErrorCode.ACCESS_DENIED, fault: 'caller', cause: error },
      );
    }
    throw mapAwsError(error, { service: 'S3', operation: 'HeadBucket', target: bucket, signal });
  }
  const read = async <T>(operation: string, send: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await send();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw mapAwsError(error, { service: 'S3', operation, target: bucket, signal });
    }
  };
  const [lifecycle, tagging, listing] = await Promise.all([
    read('GetBucketLifecycleConfiguration', () => s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }), { abortSignal: signal })),
    read('GetBucketTagging', () => s3.send(new GetBucketTaggingCommand({ Bucket: bucket }), { abortSignal: signal })),
    read('ListObjectsV2', () => s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1 }), { abortSignal: signal })),
  ]);
  return {
    state: {
      exists: true,
      managed: (tagging?.TagSet ?? []).some((tag) => tag.Key === MANAGED_TAG.Key && tag.Value === MANAGED_TAG.Value),
      empty: (listing?.KeyCount ?? listing?.Contents?.length ?? 0) === 0,
    },
    lifecycle: lifecycle?.Rules ?? [],
  };
}
