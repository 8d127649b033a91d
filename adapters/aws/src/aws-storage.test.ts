import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { FanoutError, type ErrorCode } from '@fanout/spec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay, serviceError } from '../test/recorded-responses.js';
import { startS3Emulator, type S3Emulator } from '../test/s3-emulator.js';
import { AwsStorage } from './aws-storage.js';

let emulator: S3Emulator;
let storage: AwsStorage;
const bucket = 'storage-tests';
const text = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8'));

beforeAll(async () => {
  emulator = await startS3Emulator();
  await emulator.createBucket(bucket);
  storage = new AwsStorage(emulator.storageOptions(bucket, 'tenant/'));
});

afterAll(async () => {
  await storage?.dispose();
  await emulator?.stop();
});

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FanoutError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(FanoutError.isInstance(error), `expected FanoutError ${code}, got ${String(error)}`).toBe(true);
  expect((error as FanoutError).code).toBe(code);
  return error as FanoutError;
}

/** A storage whose client answers every command with `answer`. */
function recordedStorage(answer: (command: string) => unknown): { storage: AwsStorage; calls: ReturnType<typeof replay> } {
  const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const calls = replay(client, answer);
  return { storage: new AwsStorage({ bucket: 'recorded', client }), calls };
}

describe('AwsStorage on the S3 emulator', () => {
  it('writes and reads objects under its prefix, and reads a missing key as undefined', async () => {
    const key = `a/${randomUUID()}`;
    await storage.put(key, Buffer.from('hello world'));
    expect(text(await storage.get(key))).toBe('hello world');
    expect(await storage.get(`${key}-missing`)).toBeUndefined();
    expect(await storage.head(`${key}-missing`)).toBeUndefined();
    const info = await storage.head(key);
    expect(info).toMatchObject({ key, size: 11 });
    expect(info?.modifiedMs).toBeGreaterThan(Date.now() - 60_000);
    // The prefix is the storage's, invisible to callers, and applied to every key.
    const raw = new AwsStorage(emulator.storageOptions(bucket));
    expect(text(await raw.get(`tenant/${key}`))).toBe('hello world');
    await raw.dispose();
  });

  it('reads byte ranges with one GET, clamping past the end and answering empty past it', async () => {
    const key = `ranges/${randomUUID()}`;
    await storage.put(key, Buffer.from('0123456789'));
    expect(text(await storage.get(key, { range: { start: 2, end: 5 } }))).toBe('234');
    expect(text(await storage.get(key, { range: { start: 7 } }))).toBe('789');
    expect(text(await storage.get(key, { range: { start: 8, end: 100 } }))).toBe('89');
    expect(text(await storage.get(key, { range: { start: 10 } }))).toBe('');
    expect(text(await storage.get(key, { range: { start: 4, end: 4 } }))).toBe('');
    expect(await storage.get(`${key}-missing`, { range: { start: 4, end: 4 } })).toBeUndefined();
    expect(await storage.get(`${key}-missing`, { range: { start: 0, end: 2 } })).toBeUndefined();
    await expect(storage.get(key, { range: { start: -1 } })).rejects.toBeInstanceOf(TypeError);
  });

  it('streams objects out, ranges included, and streams large bodies in through multipart upload', async () => {
    const key = `streams/${randomUUID()}`;
    // Over one 8 MiB part, so the upload is a real multipart upload of two parts.
    const part = Buffer.alloc(1024 * 1024, 7);
    async function* body() {
      for (let index = 0; index < 9; index += 1) yield new Uint8Array(part);
      yield Buffer.from('tail');
    }
    await storage.put(key, body());
    expect((await storage.head(key))?.size).toBe(9 * 1024 * 1024 + 4);
    const chunks: Uint8Array[] = [];
    for await (const chunk of (await storage.getStream(key, { range: { start: 9 * 1024 * 1024 } }))!) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('tail');
    expect(await storage.getStream(`${key}-missing`)).toBeUndefined();
  });

  it('creates a key that is absent and reports true', async () => {
    const key = `create/${randomUUID()}`;
    expect(await storage.create(key, Buffer.from('first'))).toBe(true);
    expect(text(await storage.get(key))).toBe('first');
  });

  it('lists in pages whose cursor is the continuation token, with keys relative to the prefix', async () => {
    const folder = `list-${randomUUID()}`;
    const keys = Array.from({ length: 5 }, (_, index) => `${folder}/item-${index}`);
    await Promise.all(keys.map((key) => storage.put(key, Buffer.from(key))));
    const first = await storage.list(`${folder}/`, { limit: 2 });
    expect(first.objects.map((object) => object.key)).toEqual(keys.slice(0, 2));
    expect(first.cursor).toBeTypeOf('string');
    const rest: string[] = [];
    for (let cursor = first.cursor; cursor !== undefined; ) {
      const page = await storage.list(`${folder}/`, { limit: 2, cursor });
      rest.push(...page.objects.map((object) => object.key));
      cursor = page.cursor;
    }
    expect(rest).toEqual(keys.slice(2));
    expect((await storage.list(`${folder}/item-4`)).objects).toEqual([expect.objectContaining({ key: `${folder}/item-4`, size: keys[4]!.length })]);
  });

  it('deletes in batches of 1000 per DeleteObjects call, ignoring absent keys', async () => {
    const folder = `delete-${randomUUID()}`;
    const keys = Array.from({ length: 1003 }, (_, index) => `${folder}/${String(index).padStart(4, '0')}`);
    for (let start = 0; start < keys.length; start += 100) {
      await Promise.all(keys.slice(start, start + 100).map((key) => storage.put(key, new Uint8Array(1))));
    }
    let deleteCalls = 0;
    storage.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteObjectsCommand') deleteCalls += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countDeletes' },
    );
    await storage.delete([...keys, `${folder}/never-existed`]);
    storage.client.middlewareStack.remove('countDeletes');
    expect(deleteCalls).toBe(2);
    expect((await storage.list(`${folder}/`)).objects).toEqual([]);
  });

  it('refuses unsafe keys before any request', async () => {
    for (const key of ['', '/abs', 'a/../b', 'a//b', 'back\\slash']) {
      await expectCode(storage.get(key), 'STORAGE_KEY_INVALID');
    }
    await expectCode(storage.delete(['fine', '../not']), 'STORAGE_KEY_INVALID');
    await expectCode(storage.list('/x'), 'STORAGE_KEY_INVALID');
  });

  it('maps a missing bucket to CONFIG_INVALID instead of reading it as a missing key', async () => {
    const elsewhere = new AwsStorage(emulator.storageOptions('no-such-bucket-here'));
    const error = await expectCode(elsewhere.get('x'), 'CONFIG_INVALID');
    expect(error.message).toContain('fanout deploy');
    await elsewhere.dispose();
  });

  it('rejects after dispose, and on an aborted signal', async () => {
    const local = new AwsStorage(emulator.storageOptions(bucket));
    const controller = new AbortController();
    controller.abort();
    await expectCode(local.get('x', { signal: controller.signal }), 'ABORTED');
    await local.dispose();
    await expectCode(local.get('x'), 'DISPOSED');
  });
});

describe('AwsStorage against recorded S3 answers', () => {
  it('returns false when If-None-Match loses: 412 PreconditionFailed or 409 ConditionalRequestConflict', async () => {
    for (const [name, status] of [
      ['PreconditionFailed', 412],
      ['ConditionalRequestConflict', 409],
    ] as const) {
      const { storage: recorded, calls } = recordedStorage(() => {
        throw serviceError(name, status);
      });
      expect(await recorded.create('results/job/0000000000-000001', Buffer.from('x'))).toBe(false);
      expect(calls[0]).toMatchObject({ command: 'PutObjectCommand', input: { IfNoneMatch: '*', Key: 'results/job/0000000000-000001' } });
    }
  });

  it('maps throttling, permissions and server failures to the documented codes', async () => {
    const cases: Array<[Error, ErrorCode, boolean]> = [
      [serviceError('SlowDown', 503, 'Please reduce your request rate.'), 'THROTTLED', true],
      [serviceError('AccessDenied', 403), 'ACCESS_DENIED', false],
      [serviceError('InternalError', 500), 'BACKEND_UNAVAILABLE', true],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'BACKEND_UNAVAILABLE', true],
    ];
    for (const [cause, code, retryable] of cases) {
      const { storage: recorded } = recordedStorage(() => {
        throw cause;
      });
      const error = await expectCode(recorded.get('k'), code);
      expect(error.retryable).toBe(retryable);
      expect(error.cause).toBe(cause);
    }
  });

  it('reports keys DeleteObjects could not delete, but not absent ones', async () => {
    const { storage: quiet } = recordedStorage(() => ({ Errors: [{ Key: 'a', Code: 'NoSuchKey', Message: 'gone' }] }));
    await quiet.delete(['a']);
    const { storage: denied } = recordedStorage(() => ({ Errors: [{ Key: 'b', Code: 'AccessDenied', Message: 'no' }] }));
    await expectCode(denied.delete(['b']), 'ACCESS_DENIED');
  });
});
