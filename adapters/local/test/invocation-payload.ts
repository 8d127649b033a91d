/** A one-invocation payload over inline inputs, as core would build it, for the pool's own tests. */
import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type InvocationPayloadV1 } from '@fanout/spec';
import { frame, serializeValue } from '@fanout/worker';

/** The stored bundle a payload runs: its key and the SHA-256 the worker checks it against. */
export type BundleRef = { codeKey: string; sha256: string };

export function invocationPayload(
  bundle: BundleRef,
  exportName: string,
  inputs: unknown[],
  overrides: Partial<InvocationPayloadV1> = {},
): InvocationPayloadV1 {
  const jobId = `job-${randomUUID()}`;
  return {
    protocol: PROTOCOL_VERSION,
    jobId,
    attempt: 1,
    code: { key: bundle.codeKey, sha256: bundle.sha256, exportName },
    tasks: { first: 0, count: inputs.length },
    inputs: { inline: frame(inputs.map((input) => serializeValue(input))) },
    resultKey: `jobs/${jobId}/results/0`,
    respond: true,
    timeoutMs: 20_000,
    ...overrides,
  };
}
