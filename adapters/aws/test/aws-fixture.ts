/**
 * The whole AWS stack on this machine, for tests: S3 on fauxqs, the Lambda Invoke API test
 * server running the real built runtime (unpacked from its zip) in child processes pointed at
 * that S3, and the bucket. Everything binds to 127.0.0.1 and is stopped by `stop()`.
 */
import { rm } from 'node:fs/promises';
import { runtimeEnvironmentFor } from '../src/aws-runtime-environment.js';
import { startLambdaTestServer, type LambdaTestServer, type TestFunction } from './lambda-test-server.js';
import { unpackedRuntime } from './runtime-package.js';
import { startS3Emulator, type S3Emulator } from './s3-emulator.js';

export type AwsFixture = {
  s3: S3Emulator;
  lambda: LambdaTestServer;
  bucket: string;
  prefix: string;
  /** Storage options (`storage.options`) for the aws plugin. */
  storageOptions: ReturnType<S3Emulator['storageOptions']>;
  /** Compute options (`compute.options`) for the aws plugin, for the function named. */
  computeOptions(functionName?: string): {
    functionName: string;
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    memoryMb: number;
    timeoutSeconds: number;
    concurrency: number;
    maxConcurrency: number;
  };
  stop(): Promise<void>;
};

/** A fanout runtime function: the unpacked package, configured like `fanout deploy` configures it. */
export type RuntimeFunction = Omit<TestFunction, 'codeDirectory' | 'environment'>;

export async function startAwsFixture(options: {
  functions: RuntimeFunction[];
  others?: TestFunction[];
  bucket?: string;
  prefix?: string;
  /** Run S3 in a process of its own (see startS3Emulator). Default: `false`. */
  separateS3Process?: boolean;
}): Promise<AwsFixture> {
  const bucket = options.bucket ?? 'fanout-test';
  const prefix = options.prefix ?? 'team/';
  const [s3, runtime] = await Promise.all([startS3Emulator({ separateProcess: options.separateS3Process ?? false }), unpackedRuntime()]);
  await s3.createBucket(bucket);
  const environment = runtimeEnvironmentFor({ bucket, prefix, endpoint: s3.endpoint, forcePathStyle: true });
  const functions: TestFunction[] = [
    ...options.functions.map((fn) => ({ ...fn, codeDirectory: runtime.directory, environment })),
    ...(options.others ?? []),
  ];
  const lambda = await startLambdaTestServer({ functions });
  const byName = new Map(functions.map((fn) => [fn.name, fn]));
  return {
    s3,
    lambda,
    bucket,
    prefix,
    storageOptions: s3.storageOptions(bucket, prefix),
    computeOptions(functionName = functions[0]!.name) {
      const fn = byName.get(functionName);
      return {
        functionName,
        endpoint: lambda.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        memoryMb: fn?.memoryMb ?? 128,
        timeoutSeconds: fn?.timeoutSeconds ?? 3,
        concurrency: fn?.concurrency ?? 10,
        maxConcurrency: fn?.concurrency ?? 10,
      };
    },
    async stop() {
      await lambda.stop();
      await s3.stop();
      await rm(runtime.directory, { recursive: true, force: true });
    },
  };
}
