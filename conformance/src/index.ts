/**
 * `@fanout/conformance`: the suite every fanout adapter runs to be certified, published so that
 * third-party adapters run exactly what ours do. vitest is a peer dependency: call the `describe*`
 * functions at the top level of a vitest test file.
 *
 * - Storage: {@link describeStorageConformance}, or its groups one by one.
 * - Compute: {@link describeComputeConformance}, or its groups one by one.
 * - Whole jobs through core: {@link describeAdapterConformance} (jobs, recovery, chaos).
 * - Everything a plugin provides: {@link describeConformance}; from a program: {@link runConformance}.
 * - Fault injection around any backend: {@link withFaults}, {@link FaultInjectingStorage}, {@link FaultInjectingCompute}.
 * - Fault injection on the S3 and Lambda wire, client and workers alike: {@link startWireFaultProxy}, {@link describeWireChaos}.
 */
export {
  DEFAULT_SEED,
  type ConformanceEnvironment,
  type EmulatorGap,
  type EmulatorGapBehaviour,
  type StorageProbe,
} from './environment.js';
export {
  computeFactoryFromAdapter,
  storageFactoryFromAdapter,
  type AdapterSetup,
  type ComputeFactory,
  type ComputeUnderTest,
  type OptionsSource,
  type StorageFactory,
} from './factories.js';
export { describeStorageConformance } from './storage/storage-conformance.js';
export { describeStorageBasics } from './storage/storage-basics.js';
export { describeStorageRanges } from './storage/storage-ranges.js';
export { describeStorageListing, LISTING_KEY_COUNT } from './storage/storage-listing.js';
export { describeStorageLargeObjects, LARGE_OBJECT_BYTES, STREAMING_MEMORY_BOUND_BYTES } from './storage/storage-large-objects.js';
export { describeStorageConcurrency, CONCURRENT_WRITERS } from './storage/storage-concurrency.js';
export { describeStorageConditionalCreate, RACING_CREATES } from './storage/storage-conditional-create.js';
export { describeStorageKeys } from './storage/storage-keys.js';
export { describeComputeConformance } from './compute/compute-conformance.js';
export { describeComputeInvocation } from './compute/compute-invocation.js';
export { describeComputePayloadLimits, MAX_BUILT_PAYLOAD_BYTES } from './compute/compute-limits.js';
export { describeComputeFailures, describeComputeCancellation } from './compute/compute-failures.js';
export { TASK_BUNDLE_SOURCE, TASK_BUNDLE_SHA256, buildPayload, type PayloadParameters } from './compute/task-bundle.js';
export { describeJobs, JOB_TASKS } from './jobs/jobs-group.js';
export { describeJobRecovery } from './jobs/recovery-group.js';
export { describeCorruption, OVERSIZED_RECORD_BYTES } from './jobs/corruption-group.js';
export { describeLanes, LANE_TASKS } from './jobs/lanes-group.js';
export { describeChaos, CHAOS_TASKS, CHAOS_BOUND_MS } from './chaos/chaos-group.js';
export { CHAOS_SCENARIOS, type ChaosScenario } from './chaos/chaos-scenarios.js';
export { describeLiveness, LIVENESS_TASKS, LIVENESS_SLOWDOWN, LIVENESS_TARGET_MS } from './chaos/liveness-group.js';
export { describeAdapterConformance, describeConformance, type ConformanceSuite } from './adapter-conformance.js';
export { describeWireChaos, describeWireFigures, WIRE_TASKS, WIRE_BOUND_MS, type WireFigures, type WireSetup } from './wire/wire-group.js';
export { WIRE_SCENARIOS, WIRE_INVOCATION_TIMEOUT_MS, type WireScenario } from './wire/wire-scenarios.js';
export { startWireFaultProxy, describeWireCounts, requestsFrom, WIRE_ORIGINS, type WireCounts, type WireFault, type WireFaultPlan, type WireFaultProxy, type WireFaultRule, type WireFaultShares, type WireOrigin } from './wire/wire-fault-proxy.js';
export { classifyRequest, serviceErrorAnswer, serviceOfKind, LAMBDA_INVOKE_KINDS, S3_OBJECT_KINDS, type WireRequestKind, type WireService } from './wire/wire-requests.js';
export {
  FaultInjectingStorage,
  type StorageFaultCounts,
  type StorageFaultOptions,
  type StorageOperationName,
} from './faults/fault-injecting-storage.js';
export { FaultInjectingCompute, type ComputeFaultCounts, type ComputeFaultOptions } from './faults/fault-injecting-compute.js';
export { withFaults, type FaultInjectingPlugin, type FaultPlan, type InjectedFaults } from './faults/with-faults.js';
export {
  chaosTable,
  createReportCollector,
  describeFaults,
  fileReporter,
  readReportFile,
  type ChaosFigures,
  type ConformanceReportCollector,
  type ConformanceReporter,
} from './report/report.js';
export { conformanceReportMarkdown } from './report/markdown.js';
export {
  runConformance,
  type ConformanceGroupOutcome,
  type ConformanceRunReport,
  type RunConformanceOptions,
  type SerializableEnvironment,
} from './runner/run-conformance.js';
export type { ConformanceTestOutcome } from './runner/vitest-runner.js';
export { readDeclaredCapabilities, writeDeclaredCapabilities, unboundedAsText, type DeclaredCapabilities } from './runner/declared-capabilities.js';
export {
  startSilentServer,
  startUnacceptingServer,
  type SilentServer,
  type SilentServerOptions,
  type UnacceptingServer,
} from './support/silent-server.js';
