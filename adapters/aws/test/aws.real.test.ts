/**
 * Against real AWS, when credentials and a bucket are in the environment; reported as skipped,
 * with the reason in the title, otherwise. It checks what no emulator here can: S3's atomic
 * conditional create, and (with AWS_FANOUT_TEST_DEPLOY=1) a deploy, invocations of the real
 * Lambda runtime in both modes, and a destroy.
 *
 *   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_REGION
 *   AWS_FANOUT_TEST_BUCKET    an existing bucket the credentials may write to
 *   AWS_FANOUT_TEST_DEPLOY=1  also deploy a throwaway function and role (fanout-test-<random>), then destroy them
 */
import { createHash, randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type InvocationPayloadV1 } from '@fanout/spec';
import { decodeRecord, frame, serializeValue } from '@fanout/worker';
import { describe, expect, it } from 'vitest';
import { AwsCompute, AwsStorage, parseAwsComputeOptions, parseAwsStorageOptions } from '../src/index.js';
import { AwsDeployer } from '../src/deploy.js';

const bucket = process.env.AWS_FANOUT_TEST_BUCKET;
const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
const credentialsPresent = Boolean(process.env.AWS_ACCESS_KEY_ID && bucket);
const deploy = credentialsPresent && process.env.AWS_FANOUT_TEST_DEPLOY === '1';
const s3Title = credentialsPresent
  ? `real AWS: S3 bucket ${bucket}`
  : 'real AWS: S3 (skipped: set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_FANOUT_TEST_BUCKET to run)';
const lambdaTitle = deploy
  ? 'real AWS: deploy, invoke and destroy a throwaway runtime'
  : 'real AWS: deploy, invoke and destroy (skipped: also set AWS_FANOUT_TEST_DEPLOY=1; it creates and removes a role and a function)';
const prefix = `fanout-test/${randomUUID()}/`;
// Said in the run's output as well as in the titles, so a skipped real-cloud run is never silent.
if (!credentialsPresent) console.warn(`skipped: ${s3Title}`);
if (!deploy) console.warn(`skipped: ${lambdaTitle}`);

describe.skipIf(!credentialsPresent)(s3Title, () => {
  const storage = () => new AwsStorage({ bucket: bucket!, prefix, ...(region ? { region } : {}) });

  it('refuses a second create of one key: If-None-Match is atomic on S3 (fauxqs does not enforce it)', async () => {
    const backend = storage();
    const key = 'results/job/0000000000-000001';
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, index) => backend.create(key, Buffer.from(`writer ${index}`))));
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    expect(await backend.create(key, Buffer.from('late'))).toBe(false);
    await backend.delete([key]);
    await backend.dispose();
  }, 60_000);

  it('reads ranges, lists in byte order across pages, and deletes', async () => {
    const backend = storage();
    const keys = ['a/ z', 'a/~', 'a/é', 'a/z'];
    for (const key of keys) await backend.put(key, Buffer.from(`value of ${key}`));
    expect(Buffer.from((await backend.get('a/z', { range: { start: 6, end: 8 } }))!).toString()).toBe('of');
    const listed: string[] = [];
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const page = await backend.list('a/', { limit: 2, ...(cursor ? { cursor } : {}) });
      listed.push(...page.objects.map((object) => object.key));
      cursor = page.cursor;
    }
    expect(listed).toEqual([...keys].sort((left, right) => Buffer.compare(Buffer.from(left), Buffer.from(right))));
    await backend.delete(keys);
    expect((await backend.list('a/')).objects).toEqual([]);
    await backend.dispose();
  }, 60_000);
});

describe.skipIf(!deploy)(lambdaTitle, () => {
  it('deploys, runs a task in both modes, redeploys with no change, and destroys', async () => {
    const name = `fanout-test-${randomUUID().slice(0, 8)}`;
    const computeOptions = { functionName: name, memoryMb: 512, timeoutSeconds: 60, ...(region ? { region } : {}) };
    const storageOptions = { bucket: bucket!, prefix, expireJobDataAfterDays: 1, ...(region ? { region } : {}) };
    const deployer = new AwsDeployer({
      compute: parseAwsComputeOptions(computeOptions, { configPath: 'compute.options' }),
      storage: parseAwsStorageOptions(storageOptions, { configPath: 'storage.options' }),
    });
    const storage = new AwsStorage({ bucket: bucket!, prefix, ...(region ? { region } : {}) });
    const compute = new AwsCompute(computeOptions);
    try {
      await deployer.deploy({ log: (line) => console.log(line) });
      expect((await deployer.planDeploy()).steps.every((step) => step.action === 'keep')).toBe(true);
      const bundle = 'export function square(value) { return value * value; }';
      const sha256 = createHash('sha256').update(bundle).digest('hex');
      await storage.put(`code/${sha256}.mjs`, Buffer.from(bundle));
      const payload = (respond: boolean): InvocationPayloadV1 => ({
        protocol: PROTOCOL_VERSION,
        jobId: randomUUID(),
        attempt: 1,
        code: { key: `code/${sha256}.mjs`, sha256, exportName: 'square' },
        tasks: { first: 0, count: 2 },
        inputs: { inline: frame([3, 4].map((value) => serializeValue(value))) },
        resultKey: `results/${randomUUID()}`,
        respond,
        timeoutMs: 30_000,
      });
      const result = await compute.invoke(payload(true), { mode: 'sync' });
      expect(result.mode === 'sync' && result.record && decodeRecord(result.record, 'response').outcomes.map((outcome) => outcome.ok && outcome.value)).toEqual([9, 16]);
      const asynchronous = payload(false);
      await compute.invoke(asynchronous, { mode: 'async' });
      let stored: Uint8Array | undefined;
      for (let tries = 0; tries < 60 && !stored; tries += 1) {
        stored = await storage.get(asynchronous.resultKey);
        if (!stored) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      expect(decodeRecord(stored!, 'stored').outcomes).toHaveLength(2);
    } finally {
      await deployer.destroy({ log: (line) => console.log(line) });
      await storage.delete((await storage.list('')).objects.map((object) => object.key));
      await Promise.all([compute.dispose(), storage.dispose()]);
      deployer.dispose();
    }
  }, 600_000);
});
