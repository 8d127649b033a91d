import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { ErrorCode, FanoutError, type AdapterPluginV1, type StorageBackendV1 } from '@fanout/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../test/redis-server.js';
import redisPlugin from './index.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedisServer();
});

afterAll(async () => {
  await server?.stop();
});

const context = { configPath: 'storage.options', baseDirectory: process.cwd() };

describe('redisPlugin', () => {
  it('names the CONFIG_INVALID key under the configuration path core passes', () => {
    const create = () => redisPlugin.createStorage({ url: 'redis://x', nameSpace: 'typo' }, { ...context, configPath: 'profiles.ci.storage.options' });
    expect(create).toThrow(/^profiles\.ci\.storage\.options\.nameSpace is not an option/);
    try {
      create();
    } catch (error) {
      expect(FanoutError.isInstance(error, ErrorCode.CONFIG_INVALID)).toBe(true);
    }
  });

  it('gives a reference another process can import to reopen the same storage', async () => {
    // The reference names the built file, as a local worker process (plain Node) needs: run `npx tsc -b` first.
    const storage = redisPlugin.createStorage({ url: server.url, namespace: `test-${randomUUID()}` }, context);
    let reopened: StorageBackendV1 | undefined;
    try {
      const reference = storage.reference;
      expect(reference.module.startsWith('file:')).toBe(true);
      expect(existsSync(fileURLToPath(reference.module)), `${reference.module} is missing: build with npx tsc -b`).toBe(true);
      const loaded = (await import(reference.module)) as { default: AdapterPluginV1 };
      expect(loaded.default.name).toBe('redis');
      reopened = await loaded.default.createStorage!(reference.options, context);
      await storage.put('shared', new TextEncoder().encode('seen from the other side'));
      expect(new TextDecoder().decode(await reopened.get('shared'))).toBe('seen from the other side');
    } finally {
      await reopened?.dispose?.();
      await storage.dispose();
    }
  });
});
