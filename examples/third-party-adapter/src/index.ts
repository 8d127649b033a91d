/**
 * `fanout-adapter-redis`: an example third-party fanout adapter keeping object storage in Redis.
 * The default export is the plugin to list in a configuration's `plugins`.
 */
import { redisPlugin } from './redis-plugin.js';

export default redisPlugin;
export { redisPlugin };
export { RedisStorage, REDIS_ADAPTER_MODULE, MAX_OBJECT_BYTES } from './redis-storage.js';
export { LIST_PAGE_SIZE } from './redis-listing.js';
export {
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_NAMESPACE,
  DEFAULT_REDIS_URL,
  parseRedisStorageOptions,
  type RedisStorageOptions,
  type ResolvedRedisStorageOptions,
} from './redis-options.js';
