/**
 * The steps of `fanout destroy`: what deploy made, in the reverse order of its creation. A role
 * given by ARN is not ours; a bucket is deleted only if deploy created it (its tag) and it is
 * empty, otherwise only fanout's lifecycle rules leave it.
 */
import { DeleteRoleCommand, DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { DeleteFunctionCommand } from '@aws-sdk/client-lambda';
import { DeleteBucketCommand, DeleteBucketLifecycleCommand, PutBucketLifecycleConfigurationCommand } from '@aws-sdk/client-s3';
import { ROLE_POLICY_NAME } from './aws-deploy-resources.js';
import type { PlannedStep } from '@fanout/adapter-kit';
import { isOurRule, type DeployClients, type ObservedDeployment } from './aws-deploy-state.js';
import { withAwsErrors } from './aws-errors.js';
import type { ResolvedAwsComputeOptions, ResolvedAwsStorageOptions } from './aws-options.js';

export function destroySteps(
  clients: DeployClients,
  compute: ResolvedAwsComputeOptions,
  storage: ResolvedAwsStorageOptions,
  observed: ObservedDeployment,
  signal: AbortSignal | undefined,
): PlannedStep[] {
  const { iam, s3, lambda } = clients;
  const steps: PlannedStep[] = [];
  if (observed.function) {
    steps.push({
      resource: 'function',
      name: compute.functionName,
      action: 'delete',
      detail: 'with its asynchronous-invocation settings',
      run: async () => {
        await withAwsErrors({ service: 'Lambda', operation: 'DeleteFunction', target: compute.functionName, signal }, () =>
          lambda.send(new DeleteFunctionCommand({ FunctionName: compute.functionName }), { abortSignal: signal }),
        );
      },
    });
  }
  if (compute.roleArn === undefined) {
    if (observed.rolePolicy !== undefined) {
      steps.push({
        resource: 'iam-role-policy',
        name: `${compute.roleName}/${ROLE_POLICY_NAME}`,
        action: 'delete',
        run: async () => {
          await withAwsErrors({ service: 'IAM', operation: 'DeleteRolePolicy', target: compute.roleName, signal }, () =>
            iam.send(new DeleteRolePolicyCommand({ RoleName: compute.roleName, PolicyName: ROLE_POLICY_NAME }), { abortSignal: signal }),
          );
        },
      });
    }
    if (observed.role) {
      steps.push({
        resource: 'iam-role',
        name: compute.roleName,
        action: 'delete',
        run: async () => {
          await withAwsErrors({ service: 'IAM', operation: 'DeleteRole', target: compute.roleName, signal }, () =>
            iam.send(new DeleteRoleCommand({ RoleName: compute.roleName }), { abortSignal: signal }),
          );
        },
      });
    }
  }
  const deletable = observed.bucket.exists && observed.bucket.managed && observed.bucket.empty;
  const others = observed.lifecycle.filter((rule) => !isOurRule(rule));
  // A bucket about to be deleted takes its rules with it.
  if (observed.lifecycle.some(isOurRule) && !deletable) {
    steps.push({
      resource: 'bucket-lifecycle',
      name: storage.bucket,
      action: 'delete',
      detail: others.length > 0 ? `fanout's rules only; ${others.length} other rule(s) kept` : "fanout's rules",
      run: async () => {
        const context = { service: 'S3', operation: 'PutBucketLifecycleConfiguration', target: storage.bucket, signal };
        if (others.length > 0) {
          await withAwsErrors(context, () =>
            s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: storage.bucket, LifecycleConfiguration: { Rules: others } }), { abortSignal: signal }),
          );
        } else {
          await withAwsErrors({ ...context, operation: 'DeleteBucketLifecycle' }, () =>
            s3.send(new DeleteBucketLifecycleCommand({ Bucket: storage.bucket }), { abortSignal: signal }),
          );
        }
      },
    });
  }
  if (observed.bucket.exists) {
    steps.push({
      resource: 'bucket',
      name: storage.bucket,
      action: deletable ? 'delete' : 'keep',
      detail: deletable
        ? 'empty, created by fanout deploy'
        : observed.bucket.managed
          ? "holds objects: delete them ('fanout clean --all' for fanout's own), then destroy again to remove the bucket"
          : 'not created by fanout deploy: left alone',
      ...(deletable
        ? {
            run: async () => {
              await withAwsErrors({ service: 'S3', operation: 'DeleteBucket', target: storage.bucket, signal }, () =>
                s3.send(new DeleteBucketCommand({ Bucket: storage.bucket }), { abortSignal: signal }),
              );
            },
          }
        : {}),
    });
  }
  return steps;
}
