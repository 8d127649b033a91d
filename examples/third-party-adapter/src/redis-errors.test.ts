import { randomUUID } from 'node:crypto';
import { ErrorCode, FanoutError } from '@fanout/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, type RedisServer } from '../test/redis-server.js';
import { describeServer, mapRedisError } from './redis-errors.js';
import { parseRedisStorageOptions } from './redis-options.js';
import { RedisStorage } from './redis-storage.js';

const where = { operation: 'read', key: 'some/key', server: 'redis://127.0.0.1:6379' };

/** An error shaped like the ones ioredis rejects with (it does not export its classes as values we can construct). */
function clientError(name: string, message: string, code?: string): Error {
  return Object.assign(new Error(message), { name }, code === undefined ? {} : { code });
}

describe('mapRedisError', () => {
  it.each([
    ['ReplyError', 'NOAUTH Authentication required.', ErrorCode.ACCESS_DENIED, false],
    ['ReplyError', 'WRONGPASS invalid username-password pair or user is disabled.', ErrorCode.ACCESS_DENIED, false],
    ['ReplyError', "NOPERM this user has no permissions to run the 'set' command", ErrorCode.ACCESS_DENIED, false],
    ['ReplyError', 'LOADING Redis is loading the dataset in memory', ErrorCode.BACKEND_UNAVAILABLE, true],
    ['ReplyError', "OOM command not allowed when used memory > 'maxmemory'.", ErrorCode.BACKEND_UNAVAILABLE, true],
    ['ReplyError', "READONLY You can't write against a read only replica.", ErrorCode.BACKEND_UNAVAILABLE, true],
    ['ReplyError', 'ERR max number of clients reached', ErrorCode.THROTTLED, true],
    ['ReplyError', 'WRONGTYPE Operation against a key holding the wrong kind of value', ErrorCode.PROTOCOL_ERROR, false],
    ['ReplyError', "ERR unknown command 'ZRANGE'", ErrorCode.BACKEND_UNAVAILABLE, false],
    ['Error', 'read ECONNRESET', ErrorCode.BACKEND_UNAVAILABLE, true, 'ECONNRESET'],
    ['Error', 'connect ECONNREFUSED 127.0.0.1:6379', ErrorCode.BACKEND_UNAVAILABLE, true, 'ECONNREFUSED'],
    ['Error', 'Connection is closed.', ErrorCode.BACKEND_UNAVAILABLE, true],
    ['Error', 'Command timed out', ErrorCode.BACKEND_UNAVAILABLE, true],
  ])('maps %s "%s" to %s (retryable %s)', (name, message, code, retryable, socketCode?: string) => {
    const mapped = mapRedisError(clientError(name, message, socketCode), where);
    expect(mapped.code).toBe(code);
    expect(mapped.retryable).toBe(retryable);
    expect(mapped.message).toContain('"some/key"');
  });

  it('explains a generic "max retries" failure with the last connection error', () => {
    const mapped = mapRedisError(clientError('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 0).'), {
      ...where,
      lastConnectionError: clientError('Error', 'connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED'),
    });
    expect(mapped).toMatchObject({ code: ErrorCode.BACKEND_UNAVAILABLE, retryable: true, fault: 'backend' });
    expect(mapped.message).toContain('ECONNREFUSED');
  });

  it('passes FanoutErrors through and turns anything during an abort into ABORTED', () => {
    const original = new FanoutError('already mapped', { code: ErrorCode.DISPOSED, fault: 'caller' });
    expect(mapRedisError(original, where)).toBe(original);
    const controller = new AbortController();
    controller.abort();
    expect(mapRedisError(new Error('anything'), { ...where, signal: controller.signal }).code).toBe(ErrorCode.ABORTED);
  });

  it('describes the server without its credentials', () => {
    expect(describeServer('redis://user:hunter2@cache.internal:6380/3')).toBe('redis://cache.internal:6380/3');
  });
});

describe('RedisStorage against failing servers', () => {
  let protectedServer: RedisServer;

  beforeAll(async () => {
    protectedServer = await startRedisServer({ password: 'correct horse' });
  });

  afterAll(async () => {
    await protectedServer?.stop();
  });

  const open = (url: string) =>
    new RedisStorage(parseRedisStorageOptions({ url, namespace: `test-${randomUUID()}`, connectTimeoutMs: 2000 }, { configPath: 'storage.options', baseDirectory: process.cwd() }));

  it('refuses a wrong password and a missing one with ACCESS_DENIED, not retryable', async () => {
    for (const url of [`redis://:wrong@127.0.0.1:${protectedServer.port}`, `redis://127.0.0.1:${protectedServer.port}`]) {
      const storage = open(url);
      try {
        const error = await storage.get('key').catch((reason: unknown) => reason);
        expect(FanoutError.isInstance(error, ErrorCode.ACCESS_DENIED), String(error)).toBe(true);
        expect((error as FanoutError).retryable).toBe(false);
        expect((error as FanoutError).message).not.toContain('wrong@');
      } finally {
        await storage.dispose();
      }
    }
    const authorized = open(protectedServer.url);
    await authorized.put('key', new Uint8Array([1]));
    expect(await authorized.get('key')).toEqual(new Uint8Array([1]));
    await authorized.dispose();
  });

  it('fails fast with retryable BACKEND_UNAVAILABLE while the server is down, and recovers when it is back', async () => {
    const port = await freePort();
    const storage = open(`redis://127.0.0.1:${port}`);
    try {
      const started = Date.now();
      const error = await storage.get('key').catch((reason: unknown) => reason);
      expect(FanoutError.isInstance(error, ErrorCode.BACKEND_UNAVAILABLE), String(error)).toBe(true);
      expect((error as FanoutError).retryable).toBe(true);
      expect((error as FanoutError).message).toContain('ECONNREFUSED');
      expect(Date.now() - started).toBeLessThan(2000);

      const restarted = await startRedisServer({ port });
      try {
        // The client reconnects in the background (at most 2 s between attempts); core's retries
        // would bridge that gap, here a short loop does.
        let value: Uint8Array | undefined | 'unavailable' = 'unavailable';
        for (let attempt = 0; attempt < 40 && value === 'unavailable'; attempt += 1) {
          value = await storage.get('key').catch(async (reason: unknown) => {
            if (!FanoutError.isInstance(reason, ErrorCode.BACKEND_UNAVAILABLE)) throw reason;
            await new Promise((resolve) => setTimeout(resolve, 100));
            return 'unavailable' as const;
          });
        }
        expect(value).toBeUndefined();
      } finally {
        await restarted.stop();
      }
    } finally {
      await storage.dispose();
    }
  });
});
