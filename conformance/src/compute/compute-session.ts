import { randomUUID } from 'node:crypto';
import { resolveComputeCapabilities, type ComputeBackendV1, type InvocationPayloadV1, type ResolvedComputeCapabilities, type ResultRecordV1, type StorageBackendV1 } from '@fanout/spec';
import { decodeRecord } from '@fanout/worker';
import { afterAll, beforeAll, expect } from 'vitest';
import type { ResolvedEnvironment } from '../environment.js';
import type { ComputeFactory, ComputeUnderTest } from '../factories.js';
import { waitFor } from '../support/expectations.js';
import { deleteUnderPrefix, describeStorage, type StorageDeclaration } from '../storage/storage-session.js';
import { TASK_BUNDLE_BYTES, TASK_BUNDLE_SHA256, buildPayload, type PayloadParameters } from './task-bundle.js';

/** What a compute backend and its paired storage declare. */
export type ComputeDeclaration = {
  name: string;
  capabilities: ResolvedComputeCapabilities;
  hasPayloadSize: boolean;
  hasDispose: boolean;
  storage: StorageDeclaration;
};

/** Read the declaration from an instance made for that purpose only, then dispose it. */
export async function readComputeDeclaration(factory: ComputeFactory): Promise<ComputeDeclaration> {
  const made = await factory();
  try {
    return {
      name: made.compute.name,
      capabilities: resolveComputeCapabilities(made.compute.capabilities ?? {}),
      hasPayloadSize: typeof made.compute.payloadSize === 'function',
      hasDispose: typeof made.compute.dispose === 'function',
      storage: describeStorage(made.storage),
    };
  } finally {
    await disposeAll(made);
  }
}

/** Dispose the compute, then its storage, then whatever else the factory made. */
export async function disposeAll(made: ComputeUnderTest): Promise<void> {
  try {
    await made.compute.dispose?.();
  } finally {
    try {
      await made.storage.dispose?.();
    } finally {
      await made.dispose?.();
    }
  }
}

/** One group's compute backend, its storage with the task bundle in it, and helpers to invoke it. */
export type ComputeSession = {
  readonly compute: ComputeBackendV1;
  readonly storage: StorageBackendV1;
  readonly namespace: string;
  /** A payload for a bundled task; `resultKey` defaults to a fresh key in the namespace. */
  payload(parameters: Omit<PayloadParameters, 'codeKey' | 'resultKey'> & { resultKey?: string }): InvocationPayloadV1;
  /** A fresh key in the namespace. */
  key(name: string): string;
  /** Invoke synchronously and decode the record from the response (or from storage when too large for it). */
  invokeSync(payload: InvocationPayloadV1, signal?: AbortSignal): Promise<ResultRecordV1>;
  /** The record stored under `resultKey`, waiting up to `timeoutMs` for it to appear. */
  waitForRecord(resultKey: string, timeoutMs: number): Promise<ResultRecordV1 | undefined>;
};

/**
 * Give a group a fresh backend pair (made before its first test) with the task bundle stored under
 * a random namespace, and clean up after its last test.
 */
export function openComputeSession(factory: ComputeFactory, environment: ResolvedEnvironment): ComputeSession {
  const namespace = environment.newNamespace();
  const codeKey = `${namespace}/code/${TASK_BUNDLE_SHA256}.mjs`;
  let made: ComputeUnderTest | undefined;
  const current = (): ComputeUnderTest => {
    if (!made) throw new Error('The compute under test is used before its group started.');
    return made;
  };
  beforeAll(async () => {
    made = await factory();
    await made.storage.put(codeKey, TASK_BUNDLE_BYTES);
  }, environment.scaled(60_000));
  afterAll(async () => {
    if (!made) return;
    const pair = made;
    // Compute first, so that no worker writes into the namespace after it is cleaned.
    try {
      await pair.compute.dispose?.();
    } finally {
      try {
        await deleteUnderPrefix(pair.storage, `${namespace}/`);
      } finally {
        try {
          await pair.storage.dispose?.();
        } finally {
          await pair.dispose?.();
        }
      }
    }
  }, environment.scaled(60_000));

  const session: ComputeSession = {
    get compute() {
      return current().compute;
    },
    get storage() {
      return current().storage;
    },
    namespace,
    key: (name) => `${namespace}/${name}-${randomUUID()}`,
    payload: (parameters) => buildPayload({ ...parameters, codeKey, resultKey: parameters.resultKey ?? session.key('results/record') }),
    async invokeSync(payload, signal) {
      const result = await current().compute.invoke(payload, { mode: 'sync', ...(signal ? { signal } : {}) });
      expect(result.mode, 'the mode of a synchronous invocation\'s result').toBe('sync');
      const bytes = (result.mode === 'sync' ? result.record : undefined) ?? (await current().storage.get(payload.resultKey));
      expect(bytes, 'a record in the response or, when too large for it, under resultKey').toBeDefined();
      return decodeRecord(bytes!, `the record for ${payload.resultKey}`);
    },
    async waitForRecord(resultKey, timeoutMs) {
      const bytes = await waitFor(() => current().storage.get(resultKey), timeoutMs, 50);
      return bytes && decodeRecord(bytes, `the record under ${resultKey}`);
    },
  };
  return session;
}

/**
 * Run a payload to its record: synchronously where the backend supports it, otherwise
 * asynchronously, then wait up to `timeoutMs` for the record in storage.
 */
export async function runToRecord(session: ComputeSession, declaration: ComputeDeclaration, payload: InvocationPayloadV1, timeoutMs: number): Promise<ResultRecordV1> {
  if (declaration.capabilities.syncInvoke) return session.invokeSync(payload);
  const result = await session.compute.invoke({ ...payload, respond: false }, { mode: 'async' });
  expect(result.mode, 'the mode of an asynchronous invocation\'s result').toBe('async');
  const record = await session.waitForRecord(payload.resultKey, timeoutMs);
  expect(record, `a record under ${payload.resultKey} within ${timeoutMs} ms`).toBeDefined();
  return record!;
}

/** The values of a record's outcomes, with failed outcomes as their error code. */
export function outcomeValues(record: ResultRecordV1): unknown[] {
  return record.outcomes.map((outcome) => (outcome.ok ? outcome.value : `failed: ${outcome.error.code}`));
}
