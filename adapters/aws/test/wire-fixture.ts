/**
 * S3 on fauxqs behind the conformance suite's wire fault proxy, for the wire chaos runs: the
 * client's storage options name the proxy's client port, and workers are pointed at its worker
 * port (the Lambda runtime by its function environment, local worker processes by the storage
 * reference, see {@link withWorkerEndpoint}).
 */
import { startWireFaultProxy } from '@fanout/conformance';
import type { AdapterPluginV1 } from '@fanout/spec';
import { startS3Emulator } from './s3-emulator.js';

/** Start fauxqs with the bucket, and the proxy in front of it; `storageOptions` name the proxy's client port. */
export async function startWireS3Fixture(options: { bucket: string; prefix: string }) {
  const { bucket, prefix } = options;
  const s3 = await startS3Emulator();
  await s3.createBucket(bucket);
  const proxy = await startWireFaultProxy({ upstreams: { s3: s3.endpoint } });
  return {
    s3,
    proxy,
    bucket,
    prefix,
    storageOptions: { ...s3.storageOptions(bucket, prefix), endpoint: proxy.endpoints.client },
    async stop() {
      await proxy.close();
      await s3.stop();
    },
  };
}

/**
 * The plugin, whose storages send their own requests where their options say (the client port)
 * but tell other processes, through their `reference`, to open `workerEndpoint` instead: how local
 * worker processes, which open the client's storage from its reference, reach the worker port.
 */
export function withWorkerEndpoint(plugin: AdapterPluginV1, workerEndpoint: string): AdapterPluginV1 {
  const createStorage = plugin.createStorage?.bind(plugin);
  if (!createStorage) throw new TypeError(`The plugin "${plugin.name}" makes no storage.`);
  return {
    specificationVersion: 'v1',
    name: plugin.name,
    async createStorage(options, context) {
      const storage = await createStorage(options, context);
      const reference = storage.reference;
      if (!reference) throw new TypeError(`The storage of "${plugin.name}" has no reference for workers to open it by.`);
      // `reference` is a plain field of the storage: replaced, the storage is otherwise untouched.
      return Object.assign(storage, { reference: { ...reference, options: { ...(reference.options as Record<string, unknown>), endpoint: workerEndpoint } } });
    },
  };
}
