import type { AdapterPluginV1, PluginContextV1 } from '@fanout/spec';
import { parseRedisStorageOptions } from './redis-options.js';
import { REDIS_ADAPTER_MODULE, RedisStorage } from './redis-storage.js';

/**
 * The Redis adapter: storage only. Pair it with any compute backend; with local compute, the
 * child processes reopen the storage through {@link RedisStorage.reference}.
 */
export const redisPlugin = {
  specificationVersion: 'v1',
  name: 'redis',
  module: REDIS_ADAPTER_MODULE,

  createStorage(options: unknown, context: PluginContextV1): RedisStorage {
    return new RedisStorage(parseRedisStorageOptions(options, context));
  },
} as const satisfies AdapterPluginV1;
