import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import plugin, { AwsCompute, awsPlugin, AwsStorage, LAMBDA_ASYNC_PAYLOAD_BYTES, LAMBDA_SYNC_PAYLOAD_BYTES } from './index.js';
import { AwsDeployer } from './deploy.js';
import { LAMBDA_ARM64_PER_GB_SECOND_USD, LAMBDA_PER_REQUEST_USD, LAMBDA_X86_64_PER_GB_SECOND_USD } from './aws-prices.js';
import { runtimeEnvironmentFor, storageFromEnvironment } from './aws-runtime-environment.js';

// The SDK warns on Node 20 about its future Node 22 requirement; tests need not repeat it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const context = { configPath: 'storage.options', baseDirectory: '/project' };
const storage = () => plugin.createStorage({ bucket: 'team-fanout', region: 'eu-west-1' }, context);
const computeContext = (backend = storage()) => ({ configPath: 'compute.options', baseDirectory: '/project', storage: backend, storageReference: backend.reference });

function configError(run: () => unknown): FanoutError {
  try {
    run();
  } catch (error) {
    expect(FanoutError.isInstance(error, 'CONFIG_INVALID'), String(error)).toBe(true);
    return error as FanoutError;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('aws plugin', () => {
  it('is the default export, a v1 plugin named "aws" that another process can import', () => {
    expect(plugin).toBe(awsPlugin);
    expect(plugin).toMatchObject({ specificationVersion: 'v1', name: 'aws', module: '@fanout/adapter-aws' });
  });

  it('builds S3 storage and Lambda compute declaring the Lambda limits', async () => {
    const backend = storage();
    expect(backend).toBeInstanceOf(AwsStorage);
    expect(backend.capabilities).toMatchObject({ conditionalCreate: true, streaming: true, listPageSize: 1000 });
    expect(backend.reference).toEqual({ module: '@fanout/adapter-aws', options: { bucket: 'team-fanout', region: 'eu-west-1', forcePathStyle: false } });
    const compute = plugin.createCompute({ memoryMb: 2048, timeoutSeconds: 60, region: 'eu-west-1' }, computeContext(backend));
    expect(compute).toBeInstanceOf(AwsCompute);
    expect(compute.capabilities).toMatchObject({
      syncInvoke: true,
      asyncInvoke: true,
      maxPayloadBytes: { sync: LAMBDA_SYNC_PAYLOAD_BYTES, async: LAMBDA_ASYNC_PAYLOAD_BYTES },
      maxTimeoutMs: 60_000,
      maxMemoryMb: 2048,
      defaultConcurrency: 100,
      maxConcurrency: 1000,
      classifiesFailures: true,
    });
    await Promise.all([compute.dispose(), backend.dispose()]);
  });

  it("declares AWS list prices: Lambda's for the function's architecture, and S3 Standard's", async () => {
    const backend = storage();
    // Per request and per GB as the price pages state them: $0.005 and $0.0004 per 1,000, $0.09 per GB.
    const { perWriteUsd, perReadUsd, egressPerGbUsd } = backend.capabilities.prices ?? {};
    expect(perWriteUsd! * 1000).toBeCloseTo(0.005, 12);
    expect(perReadUsd! * 1000).toBeCloseTo(0.0004, 12);
    expect(egressPerGbUsd).toBe(0.09);
    const arm = plugin.createCompute({ region: 'eu-west-1' }, computeContext(backend));
    const x86 = plugin.createCompute({ region: 'eu-west-1', architecture: 'x86_64' }, computeContext(backend));
    expect(arm.capabilities.prices).toEqual({
      perInvocationUsd: LAMBDA_PER_REQUEST_USD,
      perGbSecondUsd: LAMBDA_ARM64_PER_GB_SECOND_USD,
      billingGranularityMs: 1,
      minimumBilledMs: 0,
    });
    expect(x86.capabilities.prices).toMatchObject({ perGbSecondUsd: LAMBDA_X86_64_PER_GB_SECOND_USD });
    // $0.20 per million requests; arm64 about 20% below x86_64 per GB-second.
    expect(LAMBDA_PER_REQUEST_USD * 1_000_000).toBeCloseTo(0.2, 12);
    expect(LAMBDA_ARM64_PER_GB_SECOND_USD / LAMBDA_X86_64_PER_GB_SECOND_USD).toBeCloseTo(0.8, 4);
    // A custom endpoint (an S3-compatible store, an emulator) still declares AWS's prices.
    const compatible = plugin.createStorage({ bucket: 'team-fanout', endpoint: 'http://127.0.0.1:9000' }, context);
    expect(compatible.capabilities.prices).toEqual(backend.capabilities.prices);
    await Promise.all([arm.dispose(), x86.dispose(), backend.dispose(), compatible.dispose()]);
  });

  it('names the offending key and says how to fix it', () => {
    expect(configError(() => plugin.createStorage({}, context)).message).toContain('storage.options.bucket is required');
    expect(configError(() => plugin.createStorage({ bucket: 'Not_A_Bucket' }, context)).message).toContain('storage.options.bucket');
    expect(configError(() => plugin.createStorage({ bucket: 'ok-bucket', prefix: '/abs' }, context)).message).toContain('storage.options.prefix');
    expect(configError(() => plugin.createStorage({ bucket: 'ok-bucket', endpoint: 'ftp://x' }, context)).message).toContain('storage.options.endpoint');
    expect(configError(() => plugin.createStorage({ bucket: 'ok-bucket', bukket: 1 }, context)).message).toContain('storage.options.bukket is not an option');
    expect(configError(() => plugin.createCompute({ memoryMb: 64 }, computeContext())).message).toContain('compute.options.memoryMb');
    expect(configError(() => plugin.createCompute({ timeoutSeconds: 901 }, computeContext())).message).toContain('compute.options.timeoutSeconds');
    expect(configError(() => plugin.createCompute({ architecture: 'arm' }, computeContext())).message).toContain('compute.options.architecture');
    expect(configError(() => plugin.createCompute({ concurrency: 20, maxConcurrency: 10 }, computeContext())).message).toContain('compute.options.concurrency');
    expect(configError(() => plugin.createCompute({ region: 'Europe' }, computeContext())).message).toContain('compute.options.region');
    expect(configError(() => plugin.createCompute({ dispatchThreads: -1 }, computeContext())).message).toContain('compute.options.dispatchThreads');
    expect(configError(() => plugin.createCompute({ dispatchThreads: 2.5 }, computeContext())).message).toContain('compute.options.dispatchThreads');
  });

  it('refuses Lambda compute over a storage its workers cannot open', () => {
    const folder = { specificationVersion: 'v1', name: 'local', capabilities: {} } as never;
    expect(configError(() => plugin.createCompute({}, { ...computeContext(), storage: folder })).message).toContain('S3');
  });

  it('builds a deployer from the compute and storage options, naming both option paths in errors', async () => {
    const context = (profile: string) => ({
      baseDirectory: '/p',
      prefix: 'fanout',
      computeConfigPath: `${profile}compute.options`,
      storageConfigPath: `${profile}storage.options`,
    });
    const deployer = await plugin.createDeployer({ compute: { region: 'eu-west-1' }, storage: { bucket: 'team-fanout', region: 'eu-west-1' } }, context('profiles.prod.'));
    expect(deployer).toBeInstanceOf(AwsDeployer);
    void deployer.dispose();
    // A region given only with the storage places the function beside its bucket.
    const storageRegionOnly = await plugin.createDeployer({ compute: {}, storage: { bucket: 'team-fanout', region: 'ap-south-1' } }, context(''));
    // The Lambda client the deployer made is the observable; it is private, hence the cast.
    const { lambda } = (storageRegionOnly as unknown as { clients: { lambda: { config: { region: () => Promise<string> } } } }).clients;
    expect(await lambda.config.region()).toBe('ap-south-1');
    void storageRegionOnly.dispose();
    const error = configError(() => plugin.createDeployer({ compute: {}, storage: {} }, context('profiles.prod.')));
    expect(error.message).toContain('profiles.prod.storage.options.bucket');
    // Core passes no storage options when storage comes from another adapter.
    expect(configError(() => plugin.createDeployer({ compute: {}, storage: undefined }, context(''))).message).toContain('backend: "aws"');
  });
});

describe('loading', () => {
  it('loads the deployer (the IAM client, the bundler) only when a deployer is created, not to run jobs', () => {
    // A resolve hook that reports every IAM client or esbuild module the process loads.
    const hooks = `export async function resolve(specifier, context, next) {
      const resolved = await next(specifier, context);
      if (/client-iam|esbuild/.test(resolved.url)) process.stderr.write('loaded ' + resolved.url + '\\n');
      return resolved;
    }`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`;
    const index = JSON.stringify(pathToFileURL(fileURLToPath(new URL('../dist/index.js', import.meta.url))).href);
    const run = (script: string) =>
      spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], { encoding: 'utf8' });
    const context = `{ configPath: 'storage.options', baseDirectory: '.', computeConfigPath: 'compute.options', storageConfigPath: 'storage.options', prefix: 'fanout' }`;
    const jobs = run(
      `const { awsPlugin } = await import(${index}); const storage = awsPlugin.createStorage({ bucket: 'team-bucket', region: 'eu-west-1' }, ${context}); awsPlugin.createCompute({ region: 'eu-west-1' }, { ...${context}, storage }); console.log('ok');`,
    );
    expect(jobs.stdout.trim(), jobs.stderr).toBe('ok');
    expect(jobs.stderr, 'modules loaded to run jobs').not.toMatch(/loaded .*(client-iam|esbuild)/);
    const deploy = run(
      `const { awsPlugin } = await import(${index}); const deployer = await awsPlugin.createDeployer({ compute: {}, storage: { bucket: 'team-bucket', region: 'eu-west-1' } }, ${context}); await deployer.dispose(); console.log('ok');`,
    );
    expect(deploy.stdout.trim(), deploy.stderr).toBe('ok');
    expect(deploy.stderr).toMatch(/loaded .*client-iam/);
  });
});

describe('the runtime environment', () => {
  it('carries the storage settings under FANOUT_RUNTIME_ names, and opens the same storage from them', async () => {
    const environment = runtimeEnvironmentFor({ bucket: 'b-1', prefix: 'team/', endpoint: 'http://127.0.0.1:9000', forcePathStyle: true });
    expect(environment).toEqual({
      FANOUT_RUNTIME_BUCKET: 'b-1',
      FANOUT_RUNTIME_PREFIX: 'team/',
      FANOUT_RUNTIME_S3_ENDPOINT: 'http://127.0.0.1:9000',
      FANOUT_RUNTIME_S3_FORCE_PATH_STYLE: 'true',
    });
    const opened = storageFromEnvironment({ ...environment, AWS_REGION: 'eu-west-1' });
    expect({ bucket: opened.bucket, prefix: opened.prefix }).toEqual({ bucket: 'b-1', prefix: 'team/' });
    await opened.dispose();
    expect(() => storageFromEnvironment({})).toThrowError(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
