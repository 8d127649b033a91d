import { ErrorCode, payloadSizeOf, PAYLOAD_ENVELOPE_BYTES, type InvocationMode, type InvocationPayloadV1 } from '@fanout/spec';
import { describe, expect } from 'vitest';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import type { ComputeFactory } from '../factories.js';
import { capability, conformanceTest, type Requirement } from '../support/conformance-test.js';
import { expectFanoutError } from '../support/expectations.js';
import { openComputeSession, outcomeValues, readComputeDeclaration, type ComputeSession } from './compute-session.js';
import { frameOfLength } from './task-bundle.js';

/** Smallest input frame the budget search builds. */
const MIN_FRAME_BYTES = 128;

/** Largest payload the suite builds to test a budget; a larger budget is skipped as impractical to build here. */
export const MAX_BUILT_PAYLOAD_BYTES = 64 * 2 ** 20;

/**
 * Payload budgets, tested on the backend directly (core never sends an inline payload over the
 * budget; it switches to ranged reads). Sizes are what the spec's `payloadSizeOf` reports: the
 * backend's `payloadSize()` when it has one, otherwise inline bytes plus `PAYLOAD_ENVELOPE_BYTES`.
 * A measure may grow in steps (base64 in JSON grows by 4 bytes every 3), so a payload of exactly
 * the budget may not exist. For each declared mode, the largest payload measuring at most the
 * declared `maxPayloadBytes` is accepted and runs, and the smallest measuring more is refused
 * with `PAYLOAD_TOO_LARGE`. Each is measured exactly as it is sent.
 */
export function describeComputePayloadLimits(factory: ComputeFactory, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('compute: payload limits', async () => {
    const declared = await readComputeDeclaration(factory);
    const session = openComputeSession(factory, resolved);
    const boundaries = new Map<InvocationMode, BudgetBoundary>();
    // Built once per mode, by whichever test runs first: the search may build many large payloads.
    const boundaryFor = (mode: InvocationMode, budget: number): BudgetBoundary => {
      let boundary = boundaries.get(mode);
      if (!boundary) boundaries.set(mode, (boundary = findBudgetBoundary(session, budget, mode === 'sync')));
      expectStraddles(session, boundary, budget);
      return boundary;
    };

    for (const mode of ['sync', 'async'] as const) {
      const budget = declared.capabilities.maxPayloadBytes[mode];
      const supported = mode === 'sync' ? declared.capabilities.syncInvoke : declared.capabilities.asyncInvoke;
      const article = mode === 'async' ? 'an' : 'a';
      const requires: Requirement[] = [
        capability(`${mode}Invoke`, supported),
        { label: `${article} ${mode} budget of at most 64 MiB to build (declared: ${budget} bytes)`, met: budget <= MAX_BUILT_PAYLOAD_BYTES },
      ];
      const options = { timeoutMs: 120_000, requires, behaviour: 'payload-limit' as const };

      conformanceTest(resolved, `the largest ${mode} payload measuring at most the declared budget (${budget} bytes) is accepted and runs`, options, async () => {
        const { within } = boundaryFor(mode, budget);
        const record = await runMode(session, mode, within.payload, resolved.scaled(60_000));
        // The one input is a Uint8Array whose frame fills the payload; the task returns its length.
        expect(outcomeValues(record), 'length of the input the worker received').toEqual([within.valueBytes]);
      });

      conformanceTest(resolved, `the smallest ${mode} payload measuring more than the declared budget is refused with PAYLOAD_TOO_LARGE`, options, async () => {
        const { over } = boundaryFor(mode, budget);
        await expectFanoutError(session.compute.invoke(over.payload, { mode }), ErrorCode.PAYLOAD_TOO_LARGE);
      });
    }
  });
}

/** A payload, its size as the backend measures it, and what it carries. */
export type SizedPayload = {
  payload: InvocationPayloadV1;
  /** Bytes of its framed inline inputs. */
  inlineBytes: number;
  /** Length of the one `Uint8Array` input, as the worker sees it. */
  valueBytes: number;
  /** `payloadSizeOf(compute, payload)`. */
  size: number;
};

/** The largest payload measuring within a budget, and the smallest measuring over it. */
export type BudgetBoundary = { within: SizedPayload; over: SizedPayload };

/**
 * Assert what makes the payload-limit tests meaningful: the two payloads, measured again exactly
 * as they will be sent, straddle the budget, and no buildable payload lies between them (their
 * inputs differ by one byte, or two where a frame of the length between cannot be built).
 */
function expectStraddles(session: Pick<ComputeSession, 'compute'>, { within, over }: BudgetBoundary, budget: number): void {
  expect(payloadSizeOf(session.compute, within.payload), 'the measured size of the largest payload within the budget').toBeLessThanOrEqual(budget);
  expect(payloadSizeOf(session.compute, over.payload), 'the measured size of the smallest payload over the budget').toBeGreaterThan(budget);
  expect(over.inlineBytes - within.inlineBytes, 'input bytes between the two payloads').toBeLessThanOrEqual(2);
}

/**
 * Find the payloads either side of a budget: the largest whose measure is at most `budget` and
 * the smallest whose measure exceeds it, both built with the `respond` flag they are sent with.
 * The backend's measure is only known to grow with the inline bytes, and may grow in steps, so a
 * payload of exactly the budget may not exist. The measure is approached by the secant method,
 * then bracketed and bisected on the inline bytes.
 */
export function findBudgetBoundary(session: Pick<ComputeSession, 'payload' | 'compute'>, budget: number, respond: boolean): BudgetBoundary {
  const template = session.payload({ task: 'byteLength', inputs: [], respond });
  const build = (inlineBytes: number): SizedPayload => {
    // A frame of one exact length may not exist where a length's encoding grows a byte; take the next.
    for (let length = Math.max(MIN_FRAME_BYTES, Math.round(inlineBytes)); ; length += 1) {
      const sized = frameOfLength(length);
      if (!sized) continue;
      const payload: InvocationPayloadV1 = { ...template, tasks: { first: 0, count: 1 }, inputs: { inline: sized.frame } };
      return { payload, inlineBytes: sized.frame.byteLength, valueBytes: sized.valueBytes, size: payloadSizeOf(session.compute, payload) };
    }
  };
  let low = build(budget - PAYLOAD_ENVELOPE_BYTES);
  let high = build(low.inlineBytes + 1);
  // Secant steps towards the budget while far from it.
  for (let step = 0; step < 20 && Math.abs(low.size - budget) > 64; step += 1) {
    const slope = high.size > low.size ? (high.size - low.size) / (high.inlineBytes - low.inlineBytes) : 1;
    const next = build(low.inlineBytes + (budget - low.size) / slope);
    [low, high] = next.inlineBytes === low.inlineBytes ? [low, build(low.inlineBytes + 64)] : [next, low];
  }
  // Bracket the boundary, widening the step until one side is within and the other over.
  let within = low.size <= budget ? low : undefined;
  let over = low.size > budget ? low : undefined;
  for (let gap = 1; (!within || !over) && gap < 2 ** 40; gap *= 2) {
    if (!within) {
      const candidate = build(Math.max(MIN_FRAME_BYTES, over!.inlineBytes - gap));
      if (candidate.size <= budget) within = candidate;
      else if (candidate.inlineBytes === MIN_FRAME_BYTES) break;
    } else {
      const candidate = build(within.inlineBytes + gap);
      if (candidate.size > budget) over = candidate;
      else within = candidate;
    }
  }
  expect(within && over, `no payload measuring within ${budget} bytes and one just over it could be built`).toBeTruthy();
  // Bisect on the input bytes until the two are neighbours.
  while (over!.inlineBytes - within!.inlineBytes > 1) {
    const middle = build(Math.floor((within!.inlineBytes + over!.inlineBytes) / 2));
    if (middle.inlineBytes >= over!.inlineBytes) break;
    if (middle.size <= budget) within = middle;
    else over = middle;
  }
  return { within: within!, over: over! };
}

async function runMode(session: ComputeSession, mode: InvocationMode, payload: InvocationPayloadV1, timeoutMs: number) {
  if (mode === 'sync') return session.invokeSync(payload);
  const result = await session.compute.invoke(payload, { mode: 'async' });
  expect(result).toEqual({ mode: 'async' });
  const record = await session.waitForRecord(payload.resultKey, timeoutMs);
  expect(record, `a record under resultKey within ${timeoutMs} ms`).toBeDefined();
  return record!;
}
