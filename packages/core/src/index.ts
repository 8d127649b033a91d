/**
 * `@fanout/core`: the fanout client. `connect()` returns an {@link Executor}; its `map`,
 * `mapReduce` and `call` return {@link Job} handles with typed results.
 */
export { connect } from './connect.js';
export { openDeployer, type OpenedDeployer } from './deployer.js';
export { Executor, type MapOptions } from './executor.js';
export type { Job, JobStats, JobState, LaneStats, TaskFunction, TaskReference, TaskResult, WaitOptions, WaitCondition, DurationSummary } from './job/job-types.js';
export { describeWaiting, type WaitingSummary } from './scheduler/liveness.js';
export { describeSetAside, type SetAsideObject } from './protocol/set-aside.js';
export type { CostEstimate, EstimateOptions, LaneEstimate } from './cost/estimate.js';
export type { Lane } from './lanes/lane.js';
export type { JobSummary, CleanOptions, CleanReport } from './job/job-admin.js';
export { isJobId, JOB_ID_FORM } from './job/job-records.js';
export type { FanoutConfig, BackendChoice, JobDefaults, LaneChoice, RetryPolicy } from './config/config-schema.js';
export { describeJsonSyntaxError } from './config/json-error-position.js';
export { loadConfig, CONFIG_FILE_NAMES, ENVIRONMENT_VARIABLES, type ResolvedConfig, type ResolvedLane, type LoadConfigOptions } from './config/load-config.js';
export { FanoutError, ErrorCode } from '@fanout/spec';

/** Identity helper that gives a `fanout.config.ts` file type checking. */
export function defineConfig(config: import('./config/config-schema.js').FanoutConfig): import('./config/config-schema.js').FanoutConfig {
  return config;
}
