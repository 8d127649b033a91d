/**
 * Deployment: creating, once per account and region rather than per job, the generic runtime a
 * compute backend invokes, and everything it needs (a role, a bucket, a function). Optional for
 * an adapter; the local backend has nothing to deploy.
 */

/** One change a deployment makes, as printed by `fanout deploy --dry-run`. */
export type DeploymentStepV1 = {
  /** What kind of resource, such as `iam-role`, `bucket`, `function`. */
  resource: string;
  /** Its name or identifier. */
  name: string;
  /** What will happen to it. `keep` means it exists and matches already. */
  action: 'create' | 'update' | 'keep' | 'delete';
  /** One line for people, such as "memory 1024 MiB, timeout 300 s, arm64". */
  detail?: string;
};

/** The ordered changes a deployment or teardown would make, computed without changing anything. */
export type DeploymentPlanV1 = {
  steps: DeploymentStepV1[];
};

export type DeploymentOptions = {
  signal?: AbortSignal;
  /** Progress lines for people ("creating role fanout-runtime…"). Default: discarded. */
  log?: (line: string) => void;
};

/** What `createDeployer` is handed besides the options. */
export type DeployerContextV1 = {
  /** Directory relative paths in options resolve against. */
  baseDirectory: string;
  /**
   * The storage key prefix jobs write under (configuration `prefix`), so a deployment can scope
   * permissions and data lifecycle rules to it.
   */
  prefix: string;
  /** Where the compute options sit in configuration, for error messages (`compute.options`). */
  computeConfigPath: string;
  /** Where the storage options sit in configuration, for error messages (`storage.options`). */
  storageConfigPath: string;
};

/**
 * What an adapter that deploys implements. `plan*` only reads; `deploy` and `destroy` carry out
 * exactly the steps their plan lists, idempotently: running `deploy` twice changes nothing the
 * second time (every step `keep`).
 */
export interface DeployerV1 {
  planDeploy(options?: DeploymentOptions): Promise<DeploymentPlanV1>;
  deploy(options?: DeploymentOptions): Promise<DeploymentPlanV1>;
  planDestroy(options?: DeploymentOptions): Promise<DeploymentPlanV1>;
  destroy(options?: DeploymentOptions): Promise<DeploymentPlanV1>;
  /** Release clients and connections. Optional. */
  dispose?(): Promise<void>;
}
