/**
 * `fanout deploy` and `fanout destroy` on AWS: the runtime role with its inline policy, the
 * bucket with its lifecycle rules, the function, and its asynchronous-invocation settings.
 * Plans only read; deploy and destroy carry out exactly the steps of the plan they compute,
 * idempotently. Which SDK calls each step makes is listed in {@link STEP_CALLS}.
 */
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand, UpdateAssumeRolePolicyCommand, waitUntilRoleExists } from '@aws-sdk/client-iam';
import {
  CreateFunctionCommand,
  LambdaClient,
  PutFunctionEventInvokeConfigCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2,
  type FunctionConfiguration,
  type Runtime,
} from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketTaggingCommand,
  S3Client,
  waitUntilBucketExists,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { carryOutPlan, publicPlan, type PlannedStep } from '@fanout/adapter-kit';
import { ErrorCode, FanoutError, type DeployerV1, type DeploymentOptions, type DeploymentPlanV1 } from '@fanout/spec';
import { buildRuntimeArchive, type RuntimeArchive } from './aws-bundle.js';
import { clientConfig } from './aws-clients.js';
import {
  describeFunction,
  EVENT_MAX_AGE_SECONDS,
  functionSettings,
  lifecycleRules,
  MANAGED_TAG,
  ROLE_POLICY_NAME,
  runtimeRolePolicy,
  sameJson,
  trustPolicy,
  type FunctionSettings,
} from './aws-deploy-resources.js';
import { isOurRule, observeDeployment, type DeployClients, type ObservedDeployment } from './aws-deploy-state.js';
import { destroySteps } from './aws-destroy.js';
import { awsErrorName, mapAwsError, withAwsErrors } from './aws-errors.js';
import type { ResolvedAwsComputeOptions, ResolvedAwsStorageOptions } from './aws-options.js';

/** The mutating SDK calls each kind of step makes, by `resource:action` (reads and waiter polls aside). */
export const STEP_CALLS: Readonly<Record<string, readonly string[]>> = {
  'iam-role:create': ['CreateRoleCommand'],
  'iam-role:update': ['UpdateAssumeRolePolicyCommand'],
  'iam-role:delete': ['DeleteRoleCommand'],
  'iam-role-policy:create': ['PutRolePolicyCommand'],
  'iam-role-policy:update': ['PutRolePolicyCommand'],
  'iam-role-policy:delete': ['DeleteRolePolicyCommand'],
  'bucket:create': ['CreateBucketCommand', 'PutBucketTaggingCommand'],
  'bucket:delete': ['DeleteBucketCommand'],
  'bucket-lifecycle:create': ['PutBucketLifecycleConfigurationCommand'],
  'bucket-lifecycle:update': ['PutBucketLifecycleConfigurationCommand'],
  // Other rules of the bucket are kept: the remaining rules are written back, or the configuration deleted when none remain.
  'bucket-lifecycle:delete': ['PutBucketLifecycleConfigurationCommand|DeleteBucketLifecycleCommand'],
  'function:create': ['CreateFunctionCommand'],
  'function:delete': ['DeleteFunctionCommand'],
  'function-code:update': ['UpdateFunctionCodeCommand'],
  'function-configuration:update': ['UpdateFunctionConfigurationCommand'],
  'function-async-config:create': ['PutFunctionEventInvokeConfigCommand'],
  'function-async-config:update': ['PutFunctionEventInvokeConfigCommand'],
};

/** How long deploy waits for a resource to become ready (a function to be Active, a role to exist). */
const WAIT_SECONDS = 300;

/** A new role takes a few seconds to be usable by Lambda; CreateFunction is retried this long. */
const ROLE_PROPAGATION_MS = 120_000;
const ROLE_PROPAGATION_RETRY_MS = 3_000;

export type AwsDeployerSettings = {
  compute: ResolvedAwsComputeOptions;
  storage: ResolvedAwsStorageOptions;
  /**
   * fanout's own key prefix under the storage prefix (the configuration's `prefix`); the
   * lifecycle rules expire its `jobs/` and `results/`. Default: `fanout`, core's default.
   */
  dataPrefix?: string;
  /** Ready clients, for tests. Default: clients from the options, SDK retries on (deploy is not core's to retry). */
  clients?: { iam?: IAMClient; s3?: S3Client; lambda?: LambdaClient };
  /** The runtime package. Default: {@link buildRuntimeArchive}. */
  archive?: () => Promise<RuntimeArchive>;
  /** Pause between retries. Default: a timer. */
  sleep?: (milliseconds: number) => Promise<void>;
};

export class AwsDeployer implements DeployerV1 {
  private readonly compute: ResolvedAwsComputeOptions;
  private readonly storage: ResolvedAwsStorageOptions;
  private readonly dataPrefix: string;
  private readonly clients: DeployClients;
  private readonly ownedClients: Array<{ destroy(): void }>;
  private readonly archive: () => Promise<RuntimeArchive>;
  private readonly sleep: (milliseconds: number) => Promise<void>;
  private archived: Promise<RuntimeArchive> | undefined;

  constructor(settings: AwsDeployerSettings) {
    this.compute = settings.compute;
    this.storage = settings.storage;
    this.dataPrefix = settings.dataPrefix ?? 'fanout';
    // Deploy makes few calls and nothing above it retries them: let the SDK retry throttles.
    const config = (connection: ResolvedAwsComputeOptions | ResolvedAwsStorageOptions) => ({ ...clientConfig(connection, 16), maxAttempts: 5 });
    // IAM is global, and has no S3-compatible or emulated stand-in: never the compute endpoint.
    this.clients = {
      iam: settings.clients?.iam ?? new IAMClient(config({ ...this.compute, endpoint: undefined })),
      s3:
        settings.clients?.s3 ??
        new S3Client({ ...config(this.storage), forcePathStyle: this.storage.forcePathStyle, requestChecksumCalculation: 'WHEN_REQUIRED' }),
      lambda: settings.clients?.lambda ?? new LambdaClient(config(this.compute)),
    };
    const given = new Set<unknown>(Object.values(settings.clients ?? {}));
    this.ownedClients = Object.values(this.clients).filter((client) => !given.has(client));
    this.archive = settings.archive ?? buildRuntimeArchive;
    this.sleep = settings.sleep ?? ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds)));
  }

  async planDeploy(options: DeploymentOptions = {}): Promise<DeploymentPlanV1> {
    return publicPlan(await this.deploySteps(options));
  }

  async deploy(options: DeploymentOptions = {}): Promise<DeploymentPlanV1> {
    return carryOutPlan(await this.deploySteps(options), options, 'deployed');
  }

  async planDestroy(options: DeploymentOptions = {}): Promise<DeploymentPlanV1> {
    return publicPlan(await this.destroySteps(options));
  }

  async destroy(options: DeploymentOptions = {}): Promise<DeploymentPlanV1> {
    return carryOutPlan(await this.destroySteps(options), options, 'destroyed');
  }

  /** Release the SDK clients this deployer made (not ones it was given). */
  async dispose(): Promise<void> {
    for (const client of this.ownedClients) client.destroy();
  }

  private async destroySteps(options: DeploymentOptions): Promise<PlannedStep[]> {
    const observed = await observeDeployment(this.clients, this.compute, this.storage, options.signal);
    return destroySteps(this.clients, this.compute, this.storage, observed, options.signal);
  }

  private async deploySteps(options: DeploymentOptions): Promise<PlannedStep[]> {
    const { signal } = options;
    const [observed, archive, functionRegion, bucketRegion] = await Promise.all([
      observeDeployment(this.clients, this.compute, this.storage, signal),
      (this.archived ??= this.archive()),
      this.clients.lambda.config.region(),
      this.clients.s3.config.region(),
    ]);
    const { compute, storage } = this;
    const steps: PlannedStep[] = [];
    const managedRole = compute.roleArn === undefined;
    let roleArn = compute.roleArn ?? observed.role?.arn;

    if (managedRole) {
      const trust = trustPolicy();
      const roleAction = !observed.role ? 'create' : sameJson(observed.role.trust, trust) ? 'keep' : 'update';
      steps.push({
        resource: 'iam-role',
        name: compute.roleName,
        action: roleAction,
        detail: 'assumed by lambda.amazonaws.com only',
        run: async () => {
          if (roleAction === 'create') {
            const created = await withAwsErrors({ service: 'IAM', operation: 'CreateRole', target: compute.roleName, signal }, () =>
              this.clients.iam.send(
                new CreateRoleCommand({
                  RoleName: compute.roleName,
                  AssumeRolePolicyDocument: JSON.stringify(trust),
                  Description: `Runtime role of the fanout Lambda function ${compute.functionName}`,
                  Tags: [MANAGED_TAG],
                }),
                { abortSignal: signal },
              ),
            );
            roleArn = created.Role?.Arn;
            await withAwsErrors({ service: 'IAM', operation: 'waitUntilRoleExists', target: compute.roleName, signal }, () =>
              waitUntilRoleExists({ client: this.clients.iam, maxWaitTime: WAIT_SECONDS, ...(signal ? { abortSignal: signal } : {}) }, { RoleName: compute.roleName }),
            );
          } else {
            await withAwsErrors({ service: 'IAM', operation: 'UpdateAssumeRolePolicy', target: compute.roleName, signal }, () =>
              this.clients.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: compute.roleName, PolicyDocument: JSON.stringify(trust) }), { abortSignal: signal }),
            );
          }
        },
      });
      const policy = runtimeRolePolicy({ bucket: storage.bucket, prefix: storage.prefix, functionName: compute.functionName, region: functionRegion });
      const policyAction = observed.rolePolicy === undefined ? 'create' : sameJson(observed.rolePolicy, policy) ? 'keep' : 'update';
      steps.push({
        resource: 'iam-role-policy',
        name: `${compute.roleName}/${ROLE_POLICY_NAME}`,
        action: policyAction,
        detail: `s3 get/put on ${storage.bucket}/${storage.prefix}*, its logs`,
        run: async () => {
          await withAwsErrors({ service: 'IAM', operation: 'PutRolePolicy', target: compute.roleName, signal }, () =>
            this.clients.iam.send(
              new PutRolePolicyCommand({ RoleName: compute.roleName, PolicyName: ROLE_POLICY_NAME, PolicyDocument: JSON.stringify(policy) }),
              { abortSignal: signal },
            ),
          );
        },
      });
    }

    steps.push({
      resource: 'bucket',
      name: storage.bucket,
      action: observed.bucket.exists ? 'keep' : 'create',
      detail: bucketRegion,
      run: async () => {
        await withAwsErrors({ service: 'S3', operation: 'CreateBucket', target: storage.bucket, signal }, () =>
          this.clients.s3.send(
            new CreateBucketCommand({
              Bucket: storage.bucket,
              // us-east-1 is the one region that must not be named.
              ...(bucketRegion === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: bucketRegion as BucketLocationConstraint } }),
            }),
            { abortSignal: signal },
          ),
        );
        await withAwsErrors({ service: 'S3', operation: 'waitUntilBucketExists', target: storage.bucket, signal }, () =>
          waitUntilBucketExists({ client: this.clients.s3, maxWaitTime: WAIT_SECONDS, ...(signal ? { abortSignal: signal } : {}) }, { Bucket: storage.bucket }),
        );
        await withAwsErrors({ service: 'S3', operation: 'PutBucketTagging', target: storage.bucket, signal }, () =>
          this.clients.s3.send(new PutBucketTaggingCommand({ Bucket: storage.bucket, Tagging: { TagSet: [MANAGED_TAG] } }), { abortSignal: signal }),
        );
      },
    });

    const wanted = lifecycleRules(storage, this.dataPrefix);
    const ours = observed.lifecycle.filter(isOurRule);
    const lifecycleAction = ours.length === 0 ? 'create' : sameJson(ours, wanted) ? 'keep' : 'update';
    steps.push({
      resource: 'bucket-lifecycle',
      name: storage.bucket,
      action: lifecycleAction,
      detail:
        storage.expireJobDataAfterDays > 0
          ? `jobs and results expire after ${storage.expireJobDataAfterDays} days; unfinished uploads after 1`
          : 'unfinished uploads expire after 1 day; job data is kept',
      run: async () => {
        const others = observed.lifecycle.filter((rule) => !isOurRule(rule));
        await withAwsErrors({ service: 'S3', operation: 'PutBucketLifecycleConfiguration', target: storage.bucket, signal }, () =>
          this.clients.s3.send(
            new PutBucketLifecycleConfigurationCommand({ Bucket: storage.bucket, LifecycleConfiguration: { Rules: [...others, ...wanted] } }),
            { abortSignal: signal },
          ),
        );
      },
    });

    steps.push(...this.functionSteps(observed, archive, managedRole, () => roleArn, signal));

    const asyncConfig = { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: EVENT_MAX_AGE_SECONDS };
    const asyncAction = !observed.asyncConfig ? 'create' : sameJson(pick(observed.asyncConfig), asyncConfig) ? 'keep' : 'update';
    steps.push({
      resource: 'function-async-config',
      name: compute.functionName,
      action: asyncAction,
      detail: `no Lambda retries (fanout retries by failure class), events dropped after ${EVENT_MAX_AGE_SECONDS} s`,
      run: async () => {
        await withAwsErrors({ service: 'Lambda', operation: 'PutFunctionEventInvokeConfig', target: compute.functionName, signal }, () =>
          this.clients.lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: compute.functionName, ...asyncConfig }), { abortSignal: signal }),
        );
      },
    });
    return steps;
  }

  private functionSteps(
    observed: ObservedDeployment,
    archive: RuntimeArchive,
    managedRole: boolean,
    roleArn: () => string | undefined,
    signal: AbortSignal | undefined,
  ): PlannedStep[] {
    const { compute, storage } = this;
    const name = compute.functionName;
    const wanted = functionSettings(compute, storage);
    const current = observed.function;
    const waitUpdated = () =>
      withAwsErrors({ service: 'Lambda', operation: 'waitUntilFunctionUpdatedV2', target: name, signal }, () =>
        waitUntilFunctionUpdatedV2({ client: this.clients.lambda, maxWaitTime: WAIT_SECONDS, ...(signal ? { abortSignal: signal } : {}) }, { FunctionName: name }),
      );
    if (!current) {
      return [
        {
          resource: 'function',
          name,
          action: 'create',
          detail: describeFunction(wanted),
          run: async () => {
            await this.createFunction(wanted, archive, requireRole(roleArn(), compute), managedRole, signal);
            await withAwsErrors({ service: 'Lambda', operation: 'waitUntilFunctionActiveV2', target: name, signal }, () =>
              waitUntilFunctionActiveV2({ client: this.clients.lambda, maxWaitTime: WAIT_SECONDS, ...(signal ? { abortSignal: signal } : {}) }, { FunctionName: name }),
            );
          },
        },
      ];
    }
    const currentArchitecture = current.Architectures?.[0] ?? 'x86_64';
    const codeChanged = current.CodeSha256 !== archive.codeSha256 || currentArchitecture !== wanted.architecture;
    const knownRole = roleArn();
    const changes = configurationChanges(current, wanted, knownRole);
    return [
      {
        resource: 'function-code',
        name,
        action: codeChanged ? 'update' : 'keep',
        detail: currentArchitecture !== wanted.architecture ? `${currentArchitecture} → ${wanted.architecture}` : `runtime package ${archive.codeSha256.slice(0, 12)}…`,
        run: async () => {
          await withAwsErrors({ service: 'Lambda', operation: 'UpdateFunctionCode', target: name, signal }, () =>
            this.clients.lambda.send(
              new UpdateFunctionCodeCommand({ FunctionName: name, ZipFile: archive.zip, Architectures: [wanted.architecture] }),
              { abortSignal: signal },
            ),
          );
          await waitUpdated();
        },
      },
      {
        resource: 'function-configuration',
        name,
        // A role about to be created has no ARN yet, and the function's must change to it.
        action: changes.length > 0 || (knownRole === undefined && managedRole) ? 'update' : 'keep',
        detail: changes.length > 0 ? changes.join(', ') : describeFunction(wanted),
        run: async () => {
          await withAwsErrors({ service: 'Lambda', operation: 'UpdateFunctionConfiguration', target: name, signal }, () =>
            this.clients.lambda.send(
              new UpdateFunctionConfigurationCommand({
                FunctionName: name,
                Runtime: wanted.runtime as Runtime,
                Handler: wanted.handler,
                MemorySize: wanted.memoryMb,
                Timeout: wanted.timeoutSeconds,
                Role: requireRole(roleArn(), compute),
                Environment: { Variables: wanted.environment },
              }),
              { abortSignal: signal },
            ),
          );
          await waitUpdated();
        },
      },
    ];
  }

  private async createFunction(wanted: FunctionSettings, archive: RuntimeArchive, role: string, newRole: boolean, signal: AbortSignal | undefined): Promise<void> {
    const started = Date.now();
    for (;;) {
      try {
        await this.clients.lambda.send(
          new CreateFunctionCommand({
            FunctionName: this.compute.functionName,
            Description: 'fanout generic worker: runs task code from S3 (created by fanout deploy)',
            Runtime: wanted.runtime as Runtime,
            Handler: wanted.handler,
            Role: role,
            Code: { ZipFile: archive.zip },
            MemorySize: wanted.memoryMb,
            Timeout: wanted.timeoutSeconds,
            Architectures: [wanted.architecture],
            Environment: { Variables: wanted.environment },
            PackageType: 'Zip',
            Tags: { [MANAGED_TAG.Key]: MANAGED_TAG.Value },
          }),
          { abortSignal: signal },
        );
        return;
      } catch (error) {
        // IAM is eventually consistent: a role created seconds ago cannot be assumed by Lambda yet.
        const propagating = awsErrorName(error) === 'InvalidParameterValueException' && /cannot be assumed|role/i.test((error as Error).message ?? '');
        if (!propagating || !newRole || Date.now() - started > ROLE_PROPAGATION_MS || signal?.aborted) {
          throw mapAwsError(error, { service: 'Lambda', operation: 'CreateFunction', target: this.compute.functionName, signal });
        }
        await this.sleep(ROLE_PROPAGATION_RETRY_MS);
      }
    }
  }
}

function pick(config: ObservedDeployment['asyncConfig']): Record<string, unknown> {
  return { MaximumRetryAttempts: config?.MaximumRetryAttempts, MaximumEventAgeInSeconds: config?.MaximumEventAgeInSeconds };
}

function requireRole(arn: string | undefined, compute: ResolvedAwsComputeOptions): string {
  if (!arn) {
    throw new FanoutError(`The role ${compute.roleName} has no ARN yet; its creation failed earlier in this deploy.`, { code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true });
  }
  return arn;
}

/** What differs between the deployed configuration and the wanted one, for people. */
function configurationChanges(current: FunctionConfiguration, wanted: FunctionSettings, roleArn: string | undefined): string[] {
  const changes: string[] = [];
  if (current.Runtime !== wanted.runtime) changes.push(`runtime ${current.Runtime} → ${wanted.runtime}`);
  if (current.Handler !== wanted.handler) changes.push(`handler ${current.Handler} → ${wanted.handler}`);
  if (current.MemorySize !== wanted.memoryMb) changes.push(`memory ${current.MemorySize} → ${wanted.memoryMb} MiB`);
  if (current.Timeout !== wanted.timeoutSeconds) changes.push(`timeout ${current.Timeout} → ${wanted.timeoutSeconds} s`);
  if (roleArn !== undefined && current.Role !== roleArn) changes.push(`role → ${roleArn}`);
  if (!sameJson(current.Environment?.Variables ?? {}, wanted.environment)) changes.push('environment (bucket, prefix)');
  return changes;
}
