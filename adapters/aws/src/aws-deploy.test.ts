import { createHash } from 'node:crypto';
import { FanoutError, type DeploymentPlanV1 } from '@fanout/spec';
import { afterEach, describe, expect, it } from 'vitest';
import { recordedAccount, type RecordedAccount } from '../test/recorded-aws-account.js';
import { zipFiles, type RuntimeArchive } from './aws-bundle.js';
import { AwsDeployer, STEP_CALLS } from './aws-deploy.js';
import { lifecycleRules, runtimeRolePolicy, trustPolicy } from './aws-deploy-resources.js';
import { parseAwsComputeOptions, parseAwsStorageOptions } from './aws-options.js';

const readCommands = new Set([
  'GetRoleCommand',
  'GetRolePolicyCommand',
  'HeadBucketCommand',
  'GetBucketLifecycleConfigurationCommand',
  'GetBucketTaggingCommand',
  'ListObjectsV2Command',
  'GetFunctionCommand',
  'GetFunctionEventInvokeConfigCommand',
]);

let account: RecordedAccount | undefined;
afterEach(() => account?.dispose());

async function archiveOf(text: string): Promise<RuntimeArchive> {
  const bundle = Buffer.from(text);
  const zip = await zipFiles([['index.mjs', bundle]]);
  return { zip, bundle, codeSha256: createHash('sha256').update(zip).digest('base64') };
}

async function deployerFor(
  target: RecordedAccount,
  options: { compute?: Record<string, unknown>; storage?: Record<string, unknown>; code?: string } = {},
): Promise<AwsDeployer> {
  const archive = await archiveOf(options.code ?? 'export const handler = () => null;');
  return new AwsDeployer({
    compute: parseAwsComputeOptions({ region: 'eu-west-1', ...options.compute }, { configPath: 'compute.options' }),
    storage: parseAwsStorageOptions({ bucket: 'team-fanout', region: 'eu-west-1', ...options.storage }, { configPath: 'storage.options' }),
    clients: target.clients,
    archive: async () => archive,
    sleep: async () => undefined,
  });
}

/** The mutating calls a plan promises, in order, from STEP_CALLS. */
function promisedCalls(plan: DeploymentPlanV1): string[] {
  return plan.steps.filter((step) => step.action !== 'keep').flatMap((step) => [...(STEP_CALLS[`${step.resource}:${step.action}`] ?? [`missing ${step.resource}:${step.action}`])]);
}

/** The mutating calls made since `from`. */
function mutatingCalls(target: RecordedAccount, from = 0): string[] {
  return target.calls.slice(from).map((call) => call.command).filter((command) => !readCommands.has(command));
}

const summary = (plan: DeploymentPlanV1) => plan.steps.map((step) => `${step.resource} ${step.name}: ${step.action}`);

describe('AwsDeployer against recorded AWS responses', () => {
  it('plans everything on an empty account, reading only', async () => {
    account = recordedAccount();
    const deployer = await deployerFor(account);
    const plan = await deployer.planDeploy();
    expect(summary(plan)).toEqual([
      'iam-role fanout-runtime-role: create',
      'iam-role-policy fanout-runtime-role/fanout-runtime-access: create',
      'bucket team-fanout: create',
      'bucket-lifecycle team-fanout: create',
      'function fanout-runtime: create',
      'function-async-config fanout-runtime: create',
    ]);
    expect(mutatingCalls(account)).toEqual([]);
  });

  it('deploys exactly the planned steps with exactly their calls, then changes nothing the second time', async () => {
    account = recordedAccount();
    const deployer = await deployerFor(account);
    const lines: string[] = [];
    const plan = await deployer.planDeploy();
    const before = account.calls.length;
    const done = await deployer.deploy({ log: (line) => lines.push(line) });
    expect(done).toEqual(plan);
    expect(mutatingCalls(account, before)).toEqual(promisedCalls(plan));
    expect(lines).toContain('function fanout-runtime: create (1024 MiB, 300 s, arm64, nodejs22.x)…');
    expect(lines.at(-1)).toBe('deployed: 6 changes.');

    const sent = (command: string) => account!.calls.find((call) => call.command === command)!.input;
    expect(JSON.parse(String(sent('CreateRoleCommand').AssumeRolePolicyDocument))).toEqual(trustPolicy());
    expect(JSON.parse(String(sent('PutRolePolicyCommand').PolicyDocument))).toEqual(
      runtimeRolePolicy({ bucket: 'team-fanout', prefix: '', functionName: 'fanout-runtime', region: 'eu-west-1' }),
    );
    expect(sent('CreateBucketCommand')).toMatchObject({ Bucket: 'team-fanout', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } });
    expect(sent('PutBucketLifecycleConfigurationCommand')).toMatchObject({ LifecycleConfiguration: { Rules: lifecycleRules({ prefix: '', expireJobDataAfterDays: 7 }, 'fanout') } });
    expect(sent('CreateFunctionCommand')).toMatchObject({
      Role: 'arn:aws:iam::123456789012:role/fanout-runtime-role',
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      MemorySize: 1024,
      Timeout: 300,
      Architectures: ['arm64'],
      Environment: { Variables: { FANOUT_RUNTIME_BUCKET: 'team-fanout' } },
    });
    expect(sent('PutFunctionEventInvokeConfigCommand')).toMatchObject({ MaximumRetryAttempts: 0 });

    const again = account.calls.length;
    const second = await deployer.deploy();
    expect(second.steps.every((step) => step.action === 'keep')).toBe(true);
    expect(mutatingCalls(account, again)).toEqual([]);
  });

  it('updates only what changed: configuration, code, architecture', async () => {
    account = recordedAccount();
    await (await deployerFor(account)).deploy();
    const larger = await deployerFor(account, { compute: { memoryMb: 2048 } });
    const plan = await larger.planDeploy();
    expect(plan.steps.filter((step) => step.action !== 'keep')).toEqual([
      { resource: 'function-configuration', name: 'fanout-runtime', action: 'update', detail: 'memory 1024 → 2048 MiB' },
    ]);
    let before = account.calls.length;
    await larger.deploy();
    expect(mutatingCalls(account, before)).toEqual(['UpdateFunctionConfigurationCommand']);

    const newCode = await deployerFor(account, { compute: { memoryMb: 2048, architecture: 'x86_64' }, code: 'export const handler = () => 1;' });
    const codePlan = await newCode.planDeploy();
    expect(summary(codePlan).filter((line) => !line.endsWith('keep'))).toEqual(['function-code fanout-runtime: update']);
    before = account.calls.length;
    await newCode.deploy();
    expect(mutatingCalls(account, before)).toEqual(['UpdateFunctionCodeCommand']);
    expect(account.state.functions.get('fanout-runtime')?.Architectures).toEqual(['x86_64']);
  });

  it('retries creating the function while a new role propagates', async () => {
    account = recordedAccount();
    account.roleNotAssumableFor(2);
    await (await deployerFor(account)).deploy();
    expect(account.calls.filter((call) => call.command === 'CreateFunctionCommand')).toHaveLength(3);
    expect(account.state.functions.has('fanout-runtime')).toBe(true);
  });

  it('manages no IAM at all when given a role ARN', async () => {
    account = recordedAccount();
    const deployer = await deployerFor(account, { compute: { roleArn: 'arn:aws:iam::123456789012:role/platform-team' } });
    const plan = await deployer.deploy();
    expect(plan.steps.map((step) => step.resource)).not.toContain('iam-role');
    expect(account.calls.some((call) => call.command.includes('Role'))).toBe(false);
    expect(account.state.functions.get('fanout-runtime')?.Role).toBe('arn:aws:iam::123456789012:role/platform-team');
  });

  it('destroys what deploy made, and nothing remains to destroy afterwards', async () => {
    account = recordedAccount();
    const deployer = await deployerFor(account);
    await deployer.deploy();
    const plan = await deployer.planDestroy();
    expect(summary(plan)).toEqual([
      'function fanout-runtime: delete',
      'iam-role-policy fanout-runtime-role/fanout-runtime-access: delete',
      'iam-role fanout-runtime-role: delete',
      'bucket team-fanout: delete',
    ]);
    const before = account.calls.length;
    await deployer.destroy();
    expect(mutatingCalls(account, before)).toEqual(promisedCalls(plan));
    expect(account.state.roles.size + account.state.buckets.size + account.state.functions.size).toBe(0);
    expect((await deployer.planDestroy()).steps).toEqual([]);
  });

  it('keeps a bucket that holds objects or that deploy did not create, removing only its own lifecycle rules', async () => {
    account = recordedAccount();
    account.state.buckets.set('team-fanout', {
      tags: undefined,
      objects: 3,
      lifecycle: [{ ID: 'archive-logs', Status: 'Enabled', Filter: { Prefix: 'logs/' }, Expiration: { Days: 90 } }],
    });
    const deployer = await deployerFor(account, { storage: { prefix: 'fanout-data', expireJobDataAfterDays: 3 } });
    await deployer.deploy();
    const rules = account.state.buckets.get('team-fanout')!.lifecycle!;
    expect(rules.map((rule) => rule.ID)).toEqual(['archive-logs', 'fanout-expire-jobs', 'fanout-expire-results', 'fanout-abort-incomplete-uploads']);
    expect(rules[1]).toMatchObject({ Filter: { Prefix: 'fanout-data/fanout/jobs/' }, Expiration: { Days: 3 } });

    const plan = await deployer.planDestroy();
    expect(plan.steps.find((step) => step.resource === 'bucket')).toMatchObject({ action: 'keep', detail: 'not created by fanout deploy: left alone' });
    const before = account.calls.length;
    await deployer.destroy();
    expect(mutatingCalls(account, before)).toEqual(['DeleteFunctionCommand', 'DeleteRolePolicyCommand', 'DeleteRoleCommand', 'PutBucketLifecycleConfigurationCommand']);
    expect(account.state.buckets.get('team-fanout')!.lifecycle!.map((rule) => rule.ID)).toEqual(['archive-logs']);
  });

  it('refuses a bucket name that belongs to another account', async () => {
    account = recordedAccount();
    account.state.foreignBuckets.add('team-fanout');
    const error = await (await deployerFor(account)).planDeploy().catch((reason: unknown) => reason);
    expect(FanoutError.isInstance(error, 'ACCESS_DENIED')).toBe(true);
    expect((error as Error).message).toContain('another account');
  });
});
