import type { ConformanceEnvironment } from '../environment.js';
import type { ComputeFactory } from '../factories.js';
import { describeComputeCancellation, describeComputeFailures } from './compute-failures.js';
import { describeComputeInvocation } from './compute-invocation.js';
import { describeComputePayloadLimits } from './compute-limits.js';

/**
 * Every compute group, in order: invocation, payload limits, failures, cancellation. The payloads
 * are built by hand, so these groups test the backend without core. Call it at the top level of a
 * vitest test file.
 */
export function describeComputeConformance(factory: ComputeFactory, environment: ConformanceEnvironment = {}): void {
  describeComputeInvocation(factory, environment);
  describeComputePayloadLimits(factory, environment);
  describeComputeFailures(factory, environment);
  describeComputeCancellation(factory, environment);
}
