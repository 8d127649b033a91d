/**
 * `@fanout/adapter-aws/deploy`: what `fanout deploy` and `fanout destroy` use on AWS: the
 * deployer, the resources it makes, and the runtime package it uploads. Apart from the package
 * root so that running a job never loads the IAM client or the bundler; the plugin's
 * `createDeployer` imports this module when it is called.
 */
export { AwsDeployer, STEP_CALLS, type AwsDeployerSettings } from './aws-deploy.js';
export { EVENT_MAX_AGE_SECONDS, lifecycleRules, ROLE_POLICY_NAME, runtimeRolePolicy, trustPolicy, type PolicyDocument } from './aws-deploy-resources.js';
export { buildRuntimeArchive, RUNTIME_FILE_NAME, RUNTIME_HANDLER, type RuntimeArchive } from './aws-bundle.js';
