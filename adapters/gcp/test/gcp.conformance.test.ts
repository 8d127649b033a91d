/**
 * The published conformance suite on the Google Cloud adapter's storage, as core builds it from
 * the plugin: Cloud Storage through the official client library, against the JSON API fake
 * (`gcs-json-api-server.ts`) in a process of its own. Whole jobs (jobs, recovery, corruption,
 * chaos, lanes) run on fanout's local compute, whose child processes open this storage through
 * its `reference`: the adapter has no compute yet.
 *
 * Needs the built `dist/` (`npx tsc -b`), which the local workers import.
 */
import localPlugin from '@fanout/adapter-local';
import { describeAdapterConformance, describeStorageConformance, type ConformanceEnvironment } from '@fanout/conformance';
import { Storage } from '@google-cloud/storage';
import { afterAll } from 'vitest';
import gcpPlugin from '../src/index.js';
import { startGcsProcess } from './gcs-fixture.js';

const BUCKET = 'fanout-conformance';
const PREFIX = 'suite/';

// At the top level, not in beforeAll: the suite calls the factory while vitest collects the
// tests, to read the declared capabilities, and the options must name the server by then.
const server = await startGcsProcess([BUCKET]);
afterAll(() => server.stop());

const storageOptions = { bucket: BUCKET, prefix: PREFIX, endpoint: server.url, projectId: 'fanout-test' };

// Reads the bucket with a client of its own, past the storage under test.
const probeBucket = new Storage({ apiEndpoint: server.url, projectId: 'fanout-test', retryOptions: { autoRetry: false } }).bucket(BUCKET);

const environment: ConformanceEnvironment = {
  probe: {
    async read(key) {
      try {
        const [bytes] = await probeBucket.file(`${PREFIX}${key}`).download();
        return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        if ((error as { code?: unknown }).code === 404) return undefined;
        throw error;
      }
    },
  },
};

describeStorageConformance(() => gcpPlugin.createStorage(storageOptions, { configPath: 'storage.options', baseDirectory: process.cwd() }), environment);

describeAdapterConformance(
  {
    plugin: localPlugin,
    storagePlugin: gcpPlugin,
    computeOptions: { workers: 4 },
    storageOptions,
  },
  environment,
);
