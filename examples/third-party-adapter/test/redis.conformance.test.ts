/**
 * Certification of the Redis adapter with `@fanout/conformance`:
 *
 * - every storage group, on storages made through the plugin as core makes them, with an
 *   out-of-band probe that reads what Redis really holds;
 * - whole jobs through core (jobs, recovery, chaos). Those need compute, which this adapter does
 *   not provide: they run on fanout's local compute, whose child processes open this storage
 *   through its `reference`.
 *
 * Needs the built `dist/` (`npx tsc -b`), which the local workers import.
 */
import localPlugin from '@fanout/adapter-local';
import { describeAdapterConformance, describeStorageConformance, type StorageProbe } from '@fanout/conformance';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import redisPlugin from '../src/index.js';
import { startRedisServer } from './redis-server.js';

// At the top level, not in beforeAll: the suite calls the factory while vitest collects the tests,
// to read the declared capabilities, and the storage options must name the server by then.
const server = await startRedisServer();
const probeClient = new Redis(server.url, { lazyConnect: true });

afterAll(async () => {
  probeClient.disconnect();
  await server.stop();
});

/** One namespace for the run: the suite isolates its groups by key prefix within it. */
const NAMESPACE = 'conformance';
const storageOptions = { url: server.url, namespace: NAMESPACE };

/** What Redis holds for a key, read with a separate client, bypassing the adapter. */
const probe: StorageProbe = {
  async read(key) {
    const value = await probeClient.getBuffer(`${NAMESPACE}:object:${key}`);
    return value === null ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  },
};

describeStorageConformance(
  // A fresh instance, with its own connection, per call.
  () => redisPlugin.createStorage(storageOptions, { configPath: 'storage.options', baseDirectory: process.cwd() }),
  { probe },
);

describeAdapterConformance(
  {
    plugin: localPlugin,
    storagePlugin: redisPlugin,
    // Four workers, as the local adapter's certification runs its jobs: the asynchronous chaos
    // scenarios wait on deadlines and storage round trips, not on the CPU, so their time falls
    // with concurrency (two workers took twice as long, for the same faults).
    computeOptions: { workers: 4 },
    storageOptions,
  },
  // The chaos group prints its figures (faults injected, results lost, duplicates) as a table;
  // `fanout conformance` puts them in the certification report.
  {},
);
