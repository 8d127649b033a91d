import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, type InvocationPayloadV1, type StorageBackendV1 } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { decodeInvocationFailure, decodeRecord } from './record-codec.js';
import { frame, serializeValue } from './serialization.js';
import { Worker } from './worker.js';

const bundle = 'export function bytes(count) { return new Uint8Array(count); }\n';
const sha256 = createHash('sha256').update(bundle).digest('hex');

/** Storage in a map: enough for the worker (get for the code, create for the record). */
function memoryStorage(): StorageBackendV1 & { objects: Map<string, Uint8Array> } {
  const objects = new Map<string, Uint8Array>([['code.mjs', Buffer.from(bundle)]]);
  return {
    specificationVersion: 'v1',
    name: 'memory',
    capabilities: {},
    objects,
    async get(key) {
      return objects.get(key);
    },
    async head(key) {
      const object = objects.get(key);
      return object ? { size: object.byteLength } : undefined;
    },
    async put(key, body) {
      objects.set(key, body as Uint8Array);
    },
    async create(key, body) {
      if (objects.has(key)) return false;
      objects.set(key, body);
      return true;
    },
    async delete(key) {
      objects.delete(key);
    },
    async list() {
      return { keys: [...objects.keys()] };
    },
  } as StorageBackendV1 & { objects: Map<string, Uint8Array> };
}

function payload(resultBytes: number, fields: Partial<InvocationPayloadV1>): InvocationPayloadV1 {
  return {
    protocol: PROTOCOL_VERSION,
    jobId: 'job',
    attempt: 1,
    code: { key: 'code.mjs', sha256, exportName: 'bytes' },
    tasks: { first: 0, count: 1 },
    inputs: { inline: frame([serializeValue(resultBytes)]) },
    resultKey: 'record',
    respond: true,
    timeoutMs: 10_000,
    ...fields,
  };
}

describe('Worker.handle and where the record goes', async () => {
  const codeDirectory = await mkdtemp(join(tmpdir(), 'fanout-worker-'));
  const cases = [
    { name: 'stored and returned by default', resultBytes: 10, fields: {}, respond: true, stored: true },
    { name: 'returned only, with durable: false', resultBytes: 10, fields: { durable: false }, respond: true, stored: false },
    { name: 'stored only when the response is not asked for, even with durable: false', resultBytes: 10, fields: { durable: false, respond: false }, respond: false, stored: true },
    { name: 'stored only when too large for the response, even with durable: false', resultBytes: 4096, fields: { durable: false }, respond: false, stored: true },
  ];
  for (const { name, resultBytes, fields, respond, stored } of cases) {
    it(name, async () => {
      const storage = memoryStorage();
      const worker = new Worker({ storage, codeDirectory, echoLogs: false });
      const result = await worker.handle(payload(resultBytes, fields), { maxResponseBytes: 1024 });
      expect({ respond: result.respond, stored: result.stored }).toEqual({ respond, stored });
      expect(storage.objects.has('record')).toBe(stored);
      // The record counts the write it made, and no write it did not make.
      expect(result.record.storage.create).toBe(stored ? 1 : 0);
      expect(decodeRecord(result.encoded, 'the result').storage.create).toBe(stored ? 1 : 0);
    });
  }
});

describe('Worker.handle of an invocation that cannot run', async () => {
  const codeDirectory = await mkdtemp(join(tmpdir(), 'fanout-worker-'));

  it('writes the refusal of an asynchronous payload at its failedKey, so the client learns of it at once', async () => {
    const storage = memoryStorage();
    storage.objects.set('code.mjs', Buffer.from(`${bundle}// tampered\n`));
    const worker = new Worker({ storage, codeDirectory, echoLogs: false });
    const refused = worker.handle(payload(10, { respond: false, startedKey: 'record.started-1', failedKey: 'record.failed-1' }));
    await expect(refused).rejects.toMatchObject({ code: 'CODE_INTEGRITY_FAILED' });
    const failure = decodeInvocationFailure(storage.objects.get('record.failed-1')!, 'the failure');
    expect(failure.code).toBe('CODE_INTEGRITY_FAILED');
    expect(failure.message).toContain('replaces it with its own copy');
    expect(storage.objects.has('record'), 'no record').toBe(false);
  });

  it('writes nothing for a synchronous payload, whose refusal travels in the response', async () => {
    const storage = memoryStorage();
    storage.objects.set('code.mjs', Buffer.from(`${bundle}// tampered\n`));
    const worker = new Worker({ storage, codeDirectory, echoLogs: false });
    await expect(worker.handle(payload(10, {}))).rejects.toMatchObject({ code: 'CODE_INTEGRITY_FAILED' });
    expect([...storage.objects.keys()]).toEqual(['code.mjs']);
  });
});
