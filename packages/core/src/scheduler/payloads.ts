import { PAYLOAD_ENVELOPE_BYTES, PROTOCOL_VERSION, payloadSizeOf, type InvocationPayloadV1 } from '@fanout/spec';
import type { JobInputs, JobManifest } from '../protocol/job-object.js';
import type { StorageLayout } from '../protocol/layout.js';
import type { JobLane } from './job-lane.js';
import type { Unit } from './unit.js';

export type PayloadContext = {
  manifest: JobManifest;
  layout: StorageLayout;
  /** The job's framed inputs; `undefined` when every lane reads them from the job object. */
  inputs: JobInputs | undefined;
  durable: boolean;
  lane: JobLane;
  unit: Unit;
};

/**
 * The payload of one invocation on one lane. Its inputs travel inline when they fit the lane's
 * budget for its mode (unless the lane reads this job's inputs from the job object); the rest
 * are a byte range of the job object in the lane's own storage.
 */
export function payloadFor({ manifest, layout, inputs, durable, lane, unit }: PayloadContext): InvocationPayloadV1 {
  const start = manifest.inputOffsets[unit.first]!;
  const end = manifest.inputOffsets[unit.first + unit.count]!;
  const { mode, capabilities } = lane;
  const budget = capabilities.maxPayloadBytes[mode];
  const base = {
    protocol: PROTOCOL_VERSION,
    jobId: manifest.id,
    attempt: unit.attempts,
    code: manifest.code,
    tasks: { first: unit.first, count: unit.count },
    resultKey: layout.resultKey(manifest.id, unit.first, unit.count, unit.generation),
    respond: mode === 'sync',
    ...(mode === 'sync' && !durable ? { durable: false } : {}),
    timeoutMs: manifest.timeoutMs,
    ...(mode === 'async'
      ? { startedKey: layout.startedKey(manifest.id, unit, unit.attempts), failedKey: layout.failedKey(manifest.id, unit, unit.attempts) }
      : {}),
  } as const;
  if (inputs !== undefined && !readsStoredInputs(manifest, lane.capabilities.storedInputsAboveBytes) && end - start + PAYLOAD_ENVELOPE_BYTES <= budget) {
    const inline: InvocationPayloadV1 = { ...base, inputs: { inline: inputs.framed(unit.first, unit.count) } };
    if (payloadSizeOf(lane.lane.compute, inline) <= budget) return inline;
  }
  return { ...base, inputs: { key: layout.jobKey(manifest.id), start, end } };
}

/** Whether a lane reads every input of this job from the job object: it declares that cheaper for a job this large. */
export function readsStoredInputs(manifest: JobManifest, storedInputsAboveBytes: number): boolean {
  const inputBytes = manifest.inputOffsets.at(-1)! - manifest.inputOffsets[0]!;
  return inputBytes > storedInputsAboveBytes;
}
