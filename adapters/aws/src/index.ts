/**
 * `@fanout/adapter-aws`: fanout on AWS. Storage is an S3 bucket; compute is a Lambda function
 * running the generic worker, created by `fanout deploy`. The deployer, with the IAM client and
 * the bundler it needs, is in `@fanout/adapter-aws/deploy`, loaded only when a deployer is
 * created: running jobs does not load it.
 */
import { awsPlugin } from './aws-plugin.js';

export default awsPlugin;
export { awsPlugin };
export { AwsStorage, AWS_ADAPTER_MODULE, MULTIPART_PART_BYTES, S3_MAX_OBJECT_BYTES, S3_PAGE_SIZE, type AwsStorageSettings } from './aws-storage.js';
export { AwsCompute, type AwsComputeSettings } from './aws-compute.js';
export {
  LAMBDA_ARM64_PER_GB_SECOND_USD,
  LAMBDA_BILLING_GRANULARITY_MS,
  LAMBDA_PER_REQUEST_USD,
  LAMBDA_X86_64_PER_GB_SECOND_USD,
  lambdaPrices,
  S3_EGRESS_PER_GB_USD,
  S3_PER_READ_REQUEST_USD,
  S3_PER_WRITE_REQUEST_USD,
  S3_PRICES,
} from './aws-prices.js';
export { CODE_DIRECTORY, RUNTIME_ENVIRONMENT, runtimeEnvironmentFor } from './aws-runtime-environment.js';
export {
  LAMBDA_ASYNC_PAYLOAD_BYTES,
  LAMBDA_RESPONSE_BYTES,
  LAMBDA_SYNC_PAYLOAD_BYTES,
  MAX_RESPONSE_RECORD_BYTES,
} from './lambda-protocol.js';
export {
  DEFAULT_ARCHITECTURE,
  DEFAULT_CONCURRENCY,
  DEFAULT_EXPIRE_JOB_DATA_AFTER_DAYS,
  DEFAULT_FUNCTION_NAME,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MEMORY_MB,
  DEFAULT_RUNTIME,
  DEFAULT_TIMEOUT_SECONDS,
  parseAwsComputeOptions,
  parseAwsStorageOptions,
  type AwsComputeOptions,
  type AwsConnectionOptions,
  type AwsCredentialsOption,
  type AwsStorageOptions,
  type ResolvedAwsComputeOptions,
  type ResolvedAwsStorageOptions,
} from './aws-options.js';
