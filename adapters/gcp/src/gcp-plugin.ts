import type { AdapterPluginV1, PluginContextV1 } from '@fanout/spec';
import { parseGcpStorageOptions } from './gcp-options.js';
import { GCP_ADAPTER_MODULE, GcpStorage } from './gcp-storage.js';

/**
 * The Google Cloud adapter: Cloud Storage for storage. Cloud Functions compute and its
 * deployment are not part of it yet; until they are, jobs keep their data in Cloud Storage and
 * run on another lane's compute (the local pool's workers open this storage from its reference).
 */
export const gcpPlugin = {
  specificationVersion: 'v1',
  name: 'gcp',
  module: GCP_ADAPTER_MODULE,

  createStorage(options: unknown, context: PluginContextV1): GcpStorage {
    return new GcpStorage(parseGcpStorageOptions(options, context));
  },
} as const satisfies AdapterPluginV1;
