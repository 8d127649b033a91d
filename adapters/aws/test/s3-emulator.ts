/**
 * S3 for tests: fauxqs started in-process on 127.0.0.1 and a random port (its CLI binds every
 * interface). It serves ranges, ListObjectsV2 paging, DeleteObjects and multipart uploads; it
 * does not enforce conditional writes (If-None-Match), see the README's emulator gaps.
 */
import { fork } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { buildApp } from 'fauxqs';

export type S3Emulator = {
  endpoint: string;
  /** Options for the aws storage against this emulator. */
  storageOptions(bucket: string, prefix?: string): {
    bucket: string;
    prefix?: string;
    endpoint: string;
    region: string;
    forcePathStyle: true;
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  createBucket(name: string): Promise<void>;
  /** SIGKILL the emulator's process (separate process only): its endpoint stops answering, as a crashed service does. */
  kill(): Promise<void>;
  stop(): Promise<void>;
};

export const EMULATOR_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/**
 * Start fauxqs: in this process by default (fastest), or in a child process of its own when the
 * test measures this process's memory and the emulator's stored objects must not count.
 */
export async function startS3Emulator(options: { separateProcess?: boolean } = {}): Promise<S3Emulator> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let port: number;
  let close: () => Promise<void>;
  let kill: () => Promise<void> = () => Promise.reject(new Error('Only an S3 emulator in a process of its own can be killed: start it with separateProcess.'));
  if (options.separateProcess) {
    const child = fork(fileURLToPath(new URL('./fauxqs-process.mjs', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], execArgv: [] });
    port = await new Promise<number>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\n')) resolve((JSON.parse(text) as { port: number }).port);
      });
      child.once('exit', (code) => reject(new Error(`fauxqs exited with code ${code} before listening`)));
    });
    const stopWith = (signal: NodeJS.Signals) => () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    close = stopWith('SIGTERM');
    kill = stopWith('SIGKILL');
  } else {
    const app = buildApp({ logger: false, host: '127.0.0.1' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    close = () => app.close();
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...EMULATOR_CREDENTIALS }, maxAttempts: 1 });
  return {
    endpoint,
    storageOptions: (bucket, prefix) => ({
      bucket,
      ...(prefix !== undefined ? { prefix } : {}),
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { ...EMULATOR_CREDENTIALS },
    }),
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    kill: () => kill(),
    async stop() {
      client.destroy();
      await close();
    },
  };
}
