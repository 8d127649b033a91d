import { ErrorCode, FanoutError } from '@fanout/spec';
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, parseRedisStorageOptions } from './redis-options.js';

const context = { configPath: 'profiles.ci.storage.options', baseDirectory: '/project' };

function refusal(options: unknown): FanoutError {
  try {
    parseRedisStorageOptions(options, context);
  } catch (error) {
    if (FanoutError.isInstance(error, ErrorCode.CONFIG_INVALID)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be refused`);
}

describe('parseRedisStorageOptions', () => {
  it('applies the documented defaults to absent and null options', () => {
    const defaults = {
      url: 'redis://127.0.0.1:6379',
      namespace: 'fanout',
      connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
      commandTimeoutMs: DEFAULT_COMMAND_TIMEOUT_MS,
    };
    expect(parseRedisStorageOptions(undefined, context)).toEqual(defaults);
    expect(parseRedisStorageOptions(null, context)).toEqual(defaults);
    expect(parseRedisStorageOptions({}, context)).toEqual(defaults);
  });

  it('accepts its own output unchanged, as a local worker process receives it through reference.options', () => {
    const resolved = parseRedisStorageOptions({ url: 'rediss://user:secret@redis.example.com:6380/2', namespace: 'team-a.jobs' }, context);
    expect(parseRedisStorageOptions(resolved, context)).toEqual(resolved);
  });

  it.each([
    [{ url: 42 }, 'url'],
    [{ url: '' }, 'url'],
    [{ url: 'http://127.0.0.1:6379' }, 'url'],
    [{ url: 'redis://127.0.0.1:6379/cache' }, 'url'],
    [{ namespace: 'has:colon' }, 'namespace'],
    [{ namespace: '' }, 'namespace'],
    [{ namespace: 'x'.repeat(101) }, 'namespace'],
    [{ connectTimeoutMs: 0 }, 'connectTimeoutMs'],
    [{ connectTimeoutMs: 1.5 }, 'connectTimeoutMs'],
    [{ commandTimeoutMs: '60000' }, 'commandTimeoutMs'],
    [{ commandTimeoutMs: 3_600_000 }, 'commandTimeoutMs'],
    [{ host: '127.0.0.1' }, 'host'],
  ])('refuses %j with CONFIG_INVALID naming the key', (options, key) => {
    const error = refusal(options);
    expect(error.message.startsWith(`profiles.ci.storage.options.${key} `)).toBe(true);
    expect(error.fault).toBe('caller');
  });

  it('refuses options that are not an object, naming the options path', () => {
    expect(refusal('redis://127.0.0.1').message).toMatch(/^profiles\.ci\.storage\.options must be an object/);
    expect(refusal([]).message).toMatch(/^profiles\.ci\.storage\.options must be an object/);
  });

  it('never repeats a password from a URL it refuses', () => {
    expect(refusal({ url: 'redis://:hunter2@host:6379/x' }).message).not.toContain('hunter2');
    expect(refusal({ url: 'redis://:hunter2@ bad host' }).message).not.toContain('hunter2');
  });
});
