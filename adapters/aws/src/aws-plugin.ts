import { ErrorCode, FanoutError, type AdapterPluginV1, type ComputePluginContextV1, type DeployerContextV1, type PluginContextV1 } from '@fanout/spec';
import { AwsCompute } from './aws-compute.js';
import type { AwsDeployer } from './aws-deploy.js';
import { parseAwsComputeOptions, parseAwsStorageOptions } from './aws-options.js';
import { AWS_ADAPTER_MODULE, AwsStorage } from './aws-storage.js';

/**
 * The AWS adapter: S3 for storage, Lambda for compute, and the deployment of the runtime
 * function. Lambda workers open S3 from their deployment, so Lambda compute needs this
 * adapter's storage.
 */
export const awsPlugin = {
  specificationVersion: 'v1',
  name: 'aws',
  module: AWS_ADAPTER_MODULE,

  createStorage(options: unknown, context: PluginContextV1): AwsStorage {
    return new AwsStorage(parseAwsStorageOptions(options, context));
  },

  createCompute(options: unknown, context: ComputePluginContextV1): AwsCompute {
    const resolved = parseAwsComputeOptions(options, context);
    if (!(context.storage instanceof AwsStorage) && context.storage.name !== 's3') {
      throw new FanoutError(
        `Lambda compute (${context.configPath}) runs workers that read code and inputs from S3 and write results there, but the configured storage is "${context.storage.name}". Set storage to { backend: "aws", options: { bucket: ... } }.`,
        { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
      );
    }
    return new AwsCompute(resolved);
  },

  /**
   * Checks the options at once, then loads the deployer (IAM, the bundler): a plain run never
   * needs it.
   */
  createDeployer(options: { compute: unknown; storage: unknown }, context: DeployerContextV1): Promise<AwsDeployer> {
    const { computeConfigPath, storageConfigPath } = context;
    const compute = parseAwsComputeOptions(options?.compute, { configPath: computeConfigPath });
    if (options?.storage === undefined) {
      throw new FanoutError(
        `The Lambda runtime keeps code, inputs and results in S3, and deploy creates its bucket, but the configured storage is not the aws adapter's. Set storage to { backend: "aws", options: { bucket: ... } }.`,
        { code: ErrorCode.CONFIG_INVALID, fault: 'caller' },
      );
    }
    const storage = parseAwsStorageOptions(options?.storage, { configPath: storageConfigPath });
    // A region written only once, on the storage options, is the whole deployment's: the
    // function then lives beside its bucket instead of wherever the SDK's chain points.
    const computeInRegion = compute.region === undefined && storage.region !== undefined ? { ...compute, region: storage.region } : compute;
    return import('./aws-deploy.js').then(({ AwsDeployer }) => new AwsDeployer({ compute: computeInRegion, storage, dataPrefix: context.prefix }));
  },
} as const satisfies AdapterPluginV1;
