import { jsonPayloadSize } from '@fanout/adapter-kit';
import { payloadSizeOf, type ComputeBackendV1, type InvocationPayloadV1 } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { findBudgetBoundary } from '../src/compute/compute-limits.js';
import { buildPayload, type PayloadParameters } from '../src/compute/task-bundle.js';

/** A compute whose only behaviour is how it measures payloads. */
function measuredBy(payloadSize?: (payload: InvocationPayloadV1) => number): ComputeBackendV1 {
  return {
    specificationVersion: 'v1',
    name: 'measured',
    capabilities: {},
    invoke: () => Promise.reject(new Error('not invoked')),
    ...(payloadSize ? { payloadSize } : {}),
  };
}

const inline = (payload: InvocationPayloadV1) => ('inline' in payload.inputs ? payload.inputs.inline.byteLength : 0);

function boundaryFor(compute: ComputeBackendV1, budget: number, respond = true) {
  const session = {
    compute,
    payload: (parameters: Omit<PayloadParameters, 'codeKey' | 'resultKey'>) => buildPayload({ ...parameters, codeKey: 'code/x.mjs', resultKey: 'results/x' }),
  };
  return findBudgetBoundary(session, budget, respond);
}

// The payload-limit tests need the largest payload within a budget and the next one over it,
// however the backend measures payloads.
describe('the payload budget search', () => {
  it.each([
    ['the default measure (inline bytes + 1 KiB)', undefined, 256 * 1024],
    ['JSON with base64 inputs (grows by 4 every 3 bytes)', (payload: InvocationPayloadV1) => 400 + Math.ceil(inline(payload) / 3) * 4, 6 * 1024 * 1024],
    ['JSON with base64 inputs, small budget', (payload: InvocationPayloadV1) => 611 + Math.ceil(inline(payload) / 3) * 4, 256 * 1024],
    ['a measure in steps of 1000 bytes', (payload: InvocationPayloadV1) => Math.ceil((inline(payload) + 5000) / 1000) * 1000, 1_000_000],
  ])('finds neighbours either side of the budget with %s', (_name, payloadSize, budget) => {
    const compute = measuredBy(payloadSize);
    const { within, over } = boundaryFor(compute, budget);
    expect(within.size).toBeLessThanOrEqual(budget);
    expect(over.size).toBeGreaterThan(budget);
    expect(over.inlineBytes - within.inlineBytes).toBeLessThanOrEqual(2);
    expect([payloadSizeOf(compute, within.payload), payloadSizeOf(compute, over.payload)]).toEqual([within.size, over.size]);
    if (!payloadSize) expect([within.size, over.size]).toEqual([budget, budget + 1]);
  });

  // Regression: the boundary was once measured with respond: true and sent with respond: false,
  // which JSON encodes one byte longer, so "the largest payload within the budget" was over it.
  it('measures each payload with the respond flag it is sent with', () => {
    const compute = measuredBy(jsonPayloadSize);
    const measuredWithRespond = boundaryFor(compute, 256 * 1024, true).within;
    // A budget the respond: true payload fills exactly; the same inputs with respond: false exceed it.
    const budget = measuredWithRespond.size;
    expect(jsonPayloadSize({ ...measuredWithRespond.payload, respond: false })).toBe(budget + 1);
    const { within, over } = boundaryFor(compute, budget, false);
    expect([within.payload.respond, over.payload.respond]).toEqual([false, false]);
    expect(jsonPayloadSize(within.payload)).toBeLessThanOrEqual(budget);
    expect(jsonPayloadSize(over.payload)).toBeGreaterThan(budget);
    expect(within.inlineBytes).toBeLessThan(measuredWithRespond.inlineBytes);
  });
});
