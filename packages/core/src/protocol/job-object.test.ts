import { PROTOCOL_VERSION, type StorageBackendV1, type StorageGetOptions } from '@fanout/spec';
import { serializeValue } from '@fanout/worker';
import { describe, expect, it } from 'vitest';
import { encodeJobObject, inputsOfJobObject, readJobManifest } from './job-object.js';

function jobObject(taskCount: number) {
  const encoded = encodeJobObject(
    {
      protocol: PROTOCOL_VERSION,
      id: 'job-1',
      createdMs: 0,
      label: 'test',
      code: { key: 'code', sha256: 'sha', exportName: 'default' },
      taskCount,
      chunkSize: 10,
      timeoutMs: 60_000,
    },
    Array.from({ length: taskCount }, (_, index) => [serializeValue(`input ${index}`)]),
  );
  return { ...encoded, bytes: Buffer.concat(encoded.parts) };
}

/** A store holding one object, recording the ranges read. */
function storageWith(key: string, bytes: Uint8Array) {
  const reads: (StorageGetOptions['range'] | 'whole')[] = [];
  const storage = {
    async get(wanted: string, options: StorageGetOptions = {}) {
      if (wanted !== key) return undefined;
      reads.push(options.range ?? 'whole');
      const { start = 0, end = bytes.byteLength } = options.range ?? {};
      return bytes.subarray(start, Math.min(end, bytes.byteLength));
    },
  } as unknown as StorageBackendV1;
  return { storage, reads };
}

describe('readJobManifest', () => {
  it('reads the manifest of a job with one ranged read, not its inputs', async () => {
    const { bytes, manifest } = jobObject(100);
    const { storage, reads } = storageWith('jobs/job-1', bytes);
    expect(await readJobManifest(storage, 'jobs/job-1')).toEqual(manifest);
    expect(reads).toEqual([{ start: 0, end: 256 * 1024 }]);
  });

  it('reads a second range when the manifest of a large job is longer than the first', async () => {
    const { bytes, manifest } = jobObject(60_000);
    const { storage, reads } = storageWith('jobs/job-1', bytes);
    const read = await readJobManifest(storage, 'jobs/job-1');
    expect(read).toEqual(manifest);
    expect(reads).toHaveLength(2);
    expect(inputsOfJobObject(bytes, read!).framed(59_999, 1).byteLength).toBeGreaterThan(4);
  });

  it('returns undefined for a missing job and refuses an object that is not one', async () => {
    const { storage } = storageWith('jobs/other', Buffer.from('not a job object at all'));
    expect(await readJobManifest(storage, 'jobs/job-1')).toBeUndefined();
    await expect(readJobManifest(storage, 'jobs/other')).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    const { storage: tiny } = storageWith('jobs/tiny', Buffer.from('FANOUT'));
    await expect(readJobManifest(tiny, 'jobs/tiny')).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
  });

  it('refuses a job object cut short inside its manifest, with PROTOCOL_ERROR', async () => {
    const { bytes } = jobObject(100);
    const { storage } = storageWith('jobs/job-1', bytes.subarray(0, 40));
    await expect(readJobManifest(storage, 'jobs/job-1')).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
  });

  it('returns undefined when the job is deleted between its two reads', async () => {
    const { bytes } = jobObject(60_000);
    const { storage, reads } = storageWith('jobs/job-1', bytes);
    const get = storage.get.bind(storage);
    storage.get = async (key, options) => (reads.length === 0 ? get(key, options) : undefined);
    expect(await readJobManifest(storage, 'jobs/job-1')).toBeUndefined();
  });
});
