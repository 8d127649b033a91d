/**
 * A real fanout job through core: local compute (child processes) with Redis storage. The child
 * processes open the storage themselves through the storage's `reference`, so this also proves
 * the reference works in another process. Needs the built `dist/` (`npx tsc -b`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@fanout/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import redisPlugin from '../src/index.js';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { squareWithBytes } from './tasks.js';

let server: RedisServer;
let workingDirectory: string;

beforeAll(async () => {
  server = await startRedisServer();
  workingDirectory = await mkdtemp(join(tmpdir(), 'fanout-redis-e2e-'));
});

afterAll(async () => {
  await server?.stop();
  if (workingDirectory) await rm(workingDirectory, { recursive: true, force: true });
});

describe('a fanout job on local compute with Redis storage', () => {
  it('maps 200 inputs, returns every result, and leaves the job in Redis', async () => {
    const fanout = await connect(
      {
        plugins: [redisPlugin],
        compute: { backend: 'local', options: { workers: 2 } },
        storage: { backend: 'redis', options: { url: server.url, namespace: 'e2e' } },
      },
      { cwd: workingDirectory, configFile: false, env: {} },
    );
    const inputs = Array.from({ length: 200 }, (_, index) => index);
    let jobId: string;
    try {
      // Asynchronous mode: workers write result records to Redis and the client finds them by listing.
      const job = await fanout.map(squareWithBytes, inputs, { mode: 'async' });
      jobId = job.id;
      const results = await job.results();
      expect(results).toEqual(inputs.map((value) => ({ value, square: value * value, bytes: Uint8Array.of(value % 256, 0, 255) })));
      expect(job.stats().tasks.succeeded).toBe(200);
    } finally {
      await fanout.dispose();
    }

    // Look at Redis directly: the job object, the code bundle and the result records are there.
    const inspector = new Redis(server.url);
    try {
      const keys = await inspector.zrange('e2e:index', 0, -1);
      expect(keys).toContain(`fanout/jobs/${jobId}`);
      expect(keys.some((key) => /^fanout\/code\/[0-9a-f]{64}\.mjs$/.test(key))).toBe(true);
      const records = keys.filter((key) => key.startsWith(`fanout/results/${jobId}/`));
      expect(records.length).toBeGreaterThan(0);
      for (const key of keys) expect(await inspector.exists(`e2e:object:${key}`), key).toBe(1);
      expect(await inspector.hlen('e2e:modified')).toBe(keys.length);
    } finally {
      inspector.disconnect();
    }
  });
});
