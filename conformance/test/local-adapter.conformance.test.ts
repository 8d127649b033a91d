// Certifies the local adapter with the published conformance suite: storage, compute, and whole
// jobs through core (jobs, recovery, chaos). Child processes run the built runtime: build first.
//
// It lives here rather than in adapters/local because core embeds the local adapter (the default
// backend): the adapter cannot depend on the suite, which depends on core, without a cycle.
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import localPlugin, { LocalCompute, LocalStorage } from '@fanout/adapter-local';
import {
  createReportCollector,
  describeAdapterConformance,
  describeComputeConformance,
  describeStorageConformance,
  type ConformanceEnvironment,
} from '../src/index.js';

// One folder for every instance: each group isolates itself under a random key namespace, which
// lets the probe read any object the suite writes straight from the file system.
const root = mkdtempSync(join(tmpdir(), 'fanout-local-conformance-'));
const report = createReportCollector();

const environment: ConformanceEnvironment = {
  probe: {
    async read(key) {
      try {
        return new Uint8Array(await readFile(join(root, 'objects', ...key.split('/'))));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
        throw error;
      }
    },
  },
  reporter: report,
};

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describeStorageConformance(() => new LocalStorage({ root }), environment);

// Small heaps make the out-of-memory case quick; two workers match the machines CI runs on.
describeComputeConformance(() => {
  const storage = new LocalStorage({ root });
  return { storage, compute: new LocalCompute({ storageReference: storage.reference, workers: 2, memoryMb: 128 }) };
}, environment);

describeAdapterConformance({ plugin: localPlugin, storageOptions: { root }, computeOptions: { workers: 4, memoryMb: 512 } }, environment);
