/**
 * An AWS account in memory, answering IAM, S3 and Lambda commands with the response shapes the
 * services return (recorded from the APIs and their reference documentation), so the deployer is
 * tested through the real SDK clients, commands, waiters and exception classes.
 *
 * Shapes worth knowing, which the deployer relies on:
 * - IAM returns policy documents URL-encoded (`GetRole.Role.AssumeRolePolicyDocument`,
 *   `GetRolePolicy.PolicyDocument`); a missing role or policy is `NoSuchEntity` (404).
 * - S3 `HeadBucket` of a missing bucket is a bare 404 the SDK names `NotFound`; one owned by
 *   another account is 403. `GetBucketLifecycleConfiguration` without rules is
 *   `NoSuchLifecycleConfiguration` (404), `GetBucketTagging` without tags `NoSuchTagSet` (404).
 * - Lambda `CreateFunction` answers with `State: "Pending"`; `GetFunction` reports `Active` once
 *   ready (the waiter's condition), and `LastUpdateStatus: "Successful"` after an update;
 *   `CodeSha256` is the base64 SHA-256 of the zip. A role created seconds ago makes
 *   `CreateFunction` fail with `InvalidParameterValueException` ("The role defined for the
 *   function cannot be assumed by Lambda.").
 */
import { createHash } from 'node:crypto';
import { IAMClient, NoSuchEntityException } from '@aws-sdk/client-iam';
import { InvalidParameterValueException, LambdaClient, ResourceNotFoundException, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import { S3Client, S3ServiceException, type LifecycleRule, type Tag } from '@aws-sdk/client-s3';
import { replay, type RecordedCall } from './recorded-responses.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const metadata = (status: number) => ({ httpStatusCode: status, requestId: 'recorded' });

type Bucket = { tags: Tag[] | undefined; lifecycle: LifecycleRule[] | undefined; objects: number };

export type RecordedAccount = {
  clients: { iam: IAMClient; s3: S3Client; lambda: LambdaClient };
  /** Every command sent, in order, with its input. */
  calls: RecordedCall[];
  /** What exists. Tests may change it between runs. */
  state: {
    roles: Map<string, { arn: string; trust: string }>;
    rolePolicies: Map<string, string>;
    buckets: Map<string, Bucket>;
    functions: Map<string, FunctionConfiguration>;
    asyncConfigs: Map<string, { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number }>;
    /** Buckets that exist but belong to another account. */
    foreignBuckets: Set<string>;
  };
  /** Make the next N CreateFunction calls fail as they do while a new role propagates. */
  roleNotAssumableFor(count: number): void;
  dispose(): void;
};

export function recordedAccount(): RecordedAccount {
  const state: RecordedAccount['state'] = {
    roles: new Map(),
    rolePolicies: new Map(),
    buckets: new Map(),
    functions: new Map(),
    asyncConfigs: new Map(),
    foreignBuckets: new Set(),
  };
  let notAssumable = 0;
  const calls: RecordedCall[] = [];
  const credentials = { accessKeyId: 'AKIARECORDED', secretAccessKey: 'recorded' };
  const iam = new IAMClient({ region: REGION, credentials });
  const s3 = new S3Client({ region: REGION, credentials });
  const lambda = new LambdaClient({ region: REGION, credentials });

  const noSuchEntity = (what: string) => new NoSuchEntityException({ message: `The ${what} cannot be found.`, $metadata: metadata(404) });
  const s3Error = (name: string, status: number, message: string) =>
    new S3ServiceException({ name, $fault: 'client', message, $metadata: metadata(status) });
  const functionArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;
  const noFunction = (name: string) =>
    new ResourceNotFoundException({ message: `Function not found: ${functionArn(name)}`, Type: 'User', $metadata: metadata(404) });
  const roleShape = (name: string) => {
    const role = state.roles.get(name)!;
    return {
      Path: '/',
      RoleName: name,
      RoleId: 'AROARECORDEDROLEID',
      Arn: role.arn,
      CreateDate: new Date('2026-11-01T00:00:00Z'),
      AssumeRolePolicyDocument: encodeURIComponent(role.trust),
      MaxSessionDuration: 3600,
      RoleLastUsed: {},
    };
  };
  const bucketOf = (input: Record<string, unknown>) => {
    const name = String(input.Bucket);
    if (state.foreignBuckets.has(name)) throw s3Error('Forbidden', 403, 'UnknownError');
    const bucket = state.buckets.get(name);
    if (!bucket) throw s3Error('NoSuchBucket', 404, 'The specified bucket does not exist');
    return bucket;
  };
  const functionOf = (input: Record<string, unknown>) => {
    const name = String(input.FunctionName);
    const configuration = state.functions.get(name);
    if (!configuration) throw noFunction(name);
    return configuration;
  };

  const respond = (command: string, input: Record<string, unknown>): unknown => {
    switch (command) {
      // IAM
      case 'GetRoleCommand':
        if (!state.roles.has(String(input.RoleName))) throw noSuchEntity(`role with name ${String(input.RoleName)}`);
        return { Role: roleShape(String(input.RoleName)) };
      case 'CreateRoleCommand': {
        const name = String(input.RoleName);
        state.roles.set(name, { arn: `arn:aws:iam::${ACCOUNT}:role/${name}`, trust: String(input.AssumeRolePolicyDocument) });
        return { Role: roleShape(name) };
      }
      case 'UpdateAssumeRolePolicyCommand':
        state.roles.get(String(input.RoleName))!.trust = String(input.PolicyDocument);
        return {};
      case 'GetRolePolicyCommand': {
        const document = state.rolePolicies.get(`${String(input.RoleName)}/${String(input.PolicyName)}`);
        if (document === undefined) throw noSuchEntity(`role policy with name ${String(input.PolicyName)}`);
        return { RoleName: input.RoleName, PolicyName: input.PolicyName, PolicyDocument: encodeURIComponent(document) };
      }
      case 'PutRolePolicyCommand':
        state.rolePolicies.set(`${String(input.RoleName)}/${String(input.PolicyName)}`, String(input.PolicyDocument));
        return {};
      case 'DeleteRolePolicyCommand':
        state.rolePolicies.delete(`${String(input.RoleName)}/${String(input.PolicyName)}`);
        return {};
      case 'DeleteRoleCommand':
        state.roles.delete(String(input.RoleName));
        return {};
      // S3
      case 'HeadBucketCommand': {
        const name = String(input.Bucket);
        if (state.foreignBuckets.has(name)) throw s3Error('Forbidden', 403, 'UnknownError');
        if (!state.buckets.has(name)) throw s3Error('NotFound', 404, 'UnknownError');
        return { BucketRegion: REGION, AccessPointAlias: false };
      }
      case 'CreateBucketCommand':
        state.buckets.set(String(input.Bucket), { tags: undefined, lifecycle: undefined, objects: 0 });
        return { Location: `http://${String(input.Bucket)}.s3.amazonaws.com/` };
      case 'PutBucketTaggingCommand':
        bucketOf(input).tags = (input.Tagging as { TagSet: Tag[] }).TagSet;
        return {};
      case 'GetBucketTaggingCommand': {
        const { tags } = bucketOf(input);
        if (!tags) throw s3Error('NoSuchTagSet', 404, 'The TagSet does not exist');
        return { TagSet: tags };
      }
      case 'GetBucketLifecycleConfigurationCommand': {
        const { lifecycle } = bucketOf(input);
        if (!lifecycle) throw s3Error('NoSuchLifecycleConfiguration', 404, 'The lifecycle configuration does not exist');
        return { Rules: lifecycle, TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K' };
      }
      case 'PutBucketLifecycleConfigurationCommand':
        bucketOf(input).lifecycle = (input.LifecycleConfiguration as { Rules: LifecycleRule[] }).Rules;
        return { TransitionDefaultMinimumObjectSize: 'all_storage_classes_128K' };
      case 'DeleteBucketLifecycleCommand':
        bucketOf(input).lifecycle = undefined;
        return {};
      case 'ListObjectsV2Command': {
        const { objects } = bucketOf(input);
        const shown = Math.min(objects, Number(input.MaxKeys ?? 1000));
        return {
          IsTruncated: objects > shown,
          KeyCount: shown,
          MaxKeys: input.MaxKeys,
          Name: input.Bucket,
          Prefix: '',
          ...(shown > 0 ? { Contents: Array.from({ length: shown }, (_, index) => ({ Key: `object-${index}`, Size: 1, StorageClass: 'STANDARD' })) } : {}),
        };
      }
      case 'DeleteBucketCommand': {
        const bucket = bucketOf(input);
        if (bucket.objects > 0) throw s3Error('BucketNotEmpty', 409, 'The bucket you tried to delete is not empty');
        state.buckets.delete(String(input.Bucket));
        return {};
      }
      // Lambda
      case 'GetFunctionCommand': {
        const configuration = functionOf(input);
        return {
          Configuration: { ...configuration, State: 'Active', LastUpdateStatus: 'Successful' },
          Code: { RepositoryType: 'S3', Location: 'https://awslambda-eu-west-1-tasks.s3.eu-west-1.amazonaws.com/snapshots/recorded' },
          Tags: { 'fanout:managed': 'true' },
        };
      }
      case 'CreateFunctionCommand': {
        if (notAssumable > 0) {
          notAssumable -= 1;
          throw new InvalidParameterValueException({
            message: 'The role defined for the function cannot be assumed by Lambda.',
            Type: 'User',
            $metadata: metadata(400),
          });
        }
        const name = String(input.FunctionName);
        const zip = input.Code as { ZipFile: Uint8Array };
        const configuration: FunctionConfiguration = {
          FunctionName: name,
          FunctionArn: functionArn(name),
          Runtime: input.Runtime as FunctionConfiguration['Runtime'],
          Role: String(input.Role),
          Handler: String(input.Handler),
          CodeSize: zip.ZipFile.byteLength,
          Description: String(input.Description ?? ''),
          Timeout: Number(input.Timeout),
          MemorySize: Number(input.MemorySize),
          LastModified: '2026-11-29T00:00:00.000+0000',
          CodeSha256: createHash('sha256').update(zip.ZipFile).digest('base64'),
          Version: '$LATEST',
          Environment: input.Environment as FunctionConfiguration['Environment'],
          TracingConfig: { Mode: 'PassThrough' },
          RevisionId: 'recorded-revision',
          State: 'Pending',
          StateReason: 'The function is being created.',
          StateReasonCode: 'Creating',
          PackageType: 'Zip',
          Architectures: input.Architectures as FunctionConfiguration['Architectures'],
          EphemeralStorage: { Size: 512 },
          LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${name}` },
        };
        state.functions.set(name, configuration);
        return configuration;
      }
      case 'UpdateFunctionCodeCommand': {
        const configuration = functionOf(input);
        const zip = input.ZipFile as Uint8Array;
        Object.assign(configuration, {
          CodeSha256: createHash('sha256').update(zip).digest('base64'),
          CodeSize: zip.byteLength,
          Architectures: input.Architectures,
        });
        return { ...configuration, LastUpdateStatus: 'InProgress' };
      }
      case 'UpdateFunctionConfigurationCommand': {
        const configuration = functionOf(input);
        Object.assign(configuration, {
          Runtime: input.Runtime,
          Handler: input.Handler,
          MemorySize: input.MemorySize,
          Timeout: input.Timeout,
          Role: input.Role,
          Environment: input.Environment,
        });
        return { ...configuration, LastUpdateStatus: 'InProgress' };
      }
      case 'DeleteFunctionCommand':
        functionOf(input);
        state.functions.delete(String(input.FunctionName));
        state.asyncConfigs.delete(String(input.FunctionName));
        return {};
      case 'GetFunctionEventInvokeConfigCommand': {
        const name = String(input.FunctionName);
        functionOf(input);
        const config = state.asyncConfigs.get(name);
        if (!config) {
          throw new ResourceNotFoundException({ message: `The function ${functionArn(name)} doesn't have an EventInvokeConfig`, Type: 'User', $metadata: metadata(404) });
        }
        return { LastModified: new Date('2026-11-29T00:00:00Z'), FunctionArn: `${functionArn(name)}:$LATEST`, ...config, DestinationConfig: { OnSuccess: {}, OnFailure: {} } };
      }
      case 'PutFunctionEventInvokeConfigCommand': {
        const name = String(input.FunctionName);
        functionOf(input);
        const config = { MaximumRetryAttempts: input.MaximumRetryAttempts as number, MaximumEventAgeInSeconds: input.MaximumEventAgeInSeconds as number };
        state.asyncConfigs.set(name, config);
        return { LastModified: new Date('2026-11-29T00:00:00Z'), FunctionArn: `${functionArn(name)}:$LATEST`, ...config, DestinationConfig: { OnSuccess: {}, OnFailure: {} } };
      }
      default:
        throw new Error(`The recorded account has no answer for ${command}`);
    }
  };
  // One list for all three clients, in call order.
  for (const client of [iam, s3, lambda]) replay(client, respond, calls);
  return {
    clients: { iam, s3, lambda },
    calls,
    state,
    roleNotAssumableFor(count) {
      notAssumable = count;
    },
    dispose() {
      iam.destroy();
      s3.destroy();
      lambda.destroy();
    },
  };
}
