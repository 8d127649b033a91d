/**
 * The published conformance suite, run on the AWS adapter as core builds it from the plugin:
 * S3 storage on fauxqs, Lambda compute through the Invoke API test server running the built
 * runtime in child processes. Both are started here, on 127.0.0.1, and stopped after the run.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describeConformance, type ConformanceEnvironment } from '@fanout/conformance';
import { afterAll } from 'vitest';
import plugin from '../src/index.js';
import { startAwsFixture } from './aws-fixture.js';
import { EMULATOR_CREDENTIALS } from './s3-emulator.js';

// The function timeout matches the adapter's default (300 s), so jobs at core's default timeoutMs fit;
// shorter payload timeouts are enforced by the runtime itself. fauxqs runs in a process of its own
// so that the storage suite's client-memory bounds measure the client, not the emulator's objects.
const fixture = await startAwsFixture({
  functions: [{ name: 'fanout-runtime', memoryMb: 256, timeoutSeconds: 300, concurrency: 8 }],
  bucket: 'fanout-conformance',
  prefix: 'suite/',
  separateS3Process: true,
});
afterAll(() => fixture.stop());

// Reads the bucket with a client of its own, past the storage under test.
const probeClient = new S3Client({ endpoint: fixture.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { ...EMULATOR_CREDENTIALS }, maxAttempts: 1 });
afterAll(() => probeClient.destroy());

const environment: ConformanceEnvironment = {
  probe: {
    async read(key) {
      try {
        const response = await probeClient.send(new GetObjectCommand({ Bucket: fixture.bucket, Key: `${fixture.prefix}${key}` }));
        return await response.Body?.transformToByteArray();
      } catch (error) {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }
    },
  },
  // Lambda cannot stop a running invocation, so the compute does not declare
  // capabilities.cancelsRunningInvocations: that test is skipped from the capability, not as a gap.
  emulatorGaps: [
    {
      behaviour: 'conditional-create',
      reason:
        'fauxqs 1.9.2 ignores If-None-Match: * and overwrites; real S3 refuses with 412 PreconditionFailed (the adapter maps it to false), covered by aws.real.test.ts when AWS credentials are set',
    },
    {
      behaviour: 'listing-order',
      reason: 'fauxqs 1.9.2 sorts listings with String.localeCompare (locale collation), not by UTF-8 bytes as S3 does; keys differing in punctuation, case or non-ASCII characters come back out of S3 order',
    },
  ],
};

describeConformance(
  {
    plugin,
    storageOptions: fixture.storageOptions,
    computeOptions: fixture.computeOptions('fanout-runtime'),
  },
  environment,
);
