// What a local worker process gets of the client's surroundings, seen from inside real forked
// workers: only the documented environment plus the `env` option, and a private folder of the
// pool's own for its working directory, temporary files and code bundles.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { serialize } from 'node:v8';
import { FanoutError, type InvocationPayloadV1, type ResultRecordV1, type StorageReferenceV1 } from '@fanout/spec';
import { decodeRecord } from '@fanout/worker';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invocationPayload } from '../test/invocation-payload.js';
import plugin, { LocalCompute, LocalStorage, PASSED_PREFIXES, PASSED_VARIABLES, TEMPORARY_VARIABLES } from './index.js';

// As core's bundler makes them: one self-contained ES module, with its `require` shim.
const bundle = `
import { createRequire as __fanoutCreateRequire } from 'node:module';
const require = __fanoutCreateRequire(import.meta.url);
import { tmpdir } from 'node:os';
import { getHeapStatistics } from 'node:v8';
export function heapLimitMb() { return getHeapStatistics().heap_size_limit / 1048576; }
export function variable(name) { return process.env[name]; }
export function environment() { return { ...process.env }; }
export function folders() { return { cwd: process.cwd(), tmp: tmpdir(), bundle: new URL(import.meta.url).pathname, sep: require('node:path').sep }; }
`;
const sha256 = createHash('sha256').update(bundle).digest('hex');
const codeKey = `code/${sha256}.mjs`;

// Not FANOUT_*: core refuses FANOUT_* variables it does not know, so a client could not connect with one set.
const SENTINEL = 'LOCAL_TEST_SENTINEL_SECRET';
const sentinelValue = `secret-${randomUUID()}`;
const variablesSetHere = [SENTINEL, 'AWS_SECRET_ACCESS_KEY', 'NODE_OPTIONS', 'LOCAL_TEST_TOKEN', 'LOCAL_TEST_CLIENT_LOADER_RAN'];
const saved = new Map(variablesSetHere.map((name) => [name, process.env[name]]));

let root: string;
let storage: LocalStorage;
const pools: LocalCompute[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fanout-local-isolation-'));
  storage = new LocalStorage({ root });
  await storage.put(codeKey, new TextEncoder().encode(bundle));
  // The client's secrets, set before any pool is made.
  process.env[SENTINEL] = sentinelValue;
  process.env.AWS_SECRET_ACCESS_KEY = 'client-aws-secret';
  // A client-side loader (as tsx, a debugger or a tracer installs one) that a worker must not load.
  const loader = join(root, 'client-loader.cjs');
  await writeFile(loader, "process.env.LOCAL_TEST_CLIENT_LOADER_RAN = 'yes';\n");
  process.env.NODE_OPTIONS = `--require ${JSON.stringify(loader)}`;
});

afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.dispose();
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await storage?.dispose();
  await rm(root, { recursive: true, force: true });
});

function pool(settings: Partial<ConstructorParameters<typeof LocalCompute>[0]> = {}): LocalCompute {
  const made = new LocalCompute({ storageReference: storage.reference, workers: 1, memoryMb: 128, ...settings });
  pools.push(made);
  return made;
}

function payloadFor(exportName: string, inputs: unknown[]): InvocationPayloadV1 {
  return invocationPayload({ codeKey, sha256 }, exportName, inputs);
}

async function run<T>(compute: LocalCompute, exportName: string, input: unknown = null): Promise<T> {
  const result = await compute.invoke(payloadFor(exportName, [input]), { mode: 'sync' });
  if (result.mode !== 'sync' || !result.record) throw new Error(`expected a synchronous record, got ${JSON.stringify(result)}`);
  const record: ResultRecordV1 = decodeRecord(result.record, 'the response');
  const outcome = record.outcomes[0];
  if (!outcome?.ok) throw new Error(`the task failed: ${JSON.stringify(outcome)}`);
  return outcome.value as T;
}

describe('the environment of local workers', () => {
  it("keeps the client's other variables out: a secret set in process.env before the pool is made is undefined in a task", async () => {
    const compute = pool();
    expect(await run(compute, 'variable', SENTINEL)).toBeUndefined();
    expect(await run(compute, 'variable', 'AWS_SECRET_ACCESS_KEY')).toBeUndefined();
    // The client's NODE_OPTIONS is not passed, so its --require'd loader did not run in the worker.
    expect(await run(compute, 'variable', 'NODE_OPTIONS')).toBeUndefined();
    expect(await run(compute, 'variable', 'LOCAL_TEST_CLIENT_LOADER_RAN')).toBeUndefined();
  });

  it('holds only the fixed variables: PATH, HOME, the locale and TZ as the client has them, and the private temporary folder', async () => {
    const environment = await run<Record<string, string>>(pool(), 'environment');
    expect(environment.PATH).toBe(process.env.PATH);
    expect(environment.HOME).toBe(process.env.HOME);
    expect(environment.PATH).toBeTruthy();
    expect(environment.HOME).toBeTruthy();
    for (const name of Object.keys(process.env).filter((name) => name.startsWith('LC_') || ['LANG', 'LANGUAGE', 'TZ'].includes(name))) {
      expect(environment[name], name).toBe(process.env[name]);
    }
    const allowed = (name: string) =>
      PASSED_VARIABLES.includes(name) || TEMPORARY_VARIABLES.includes(name) || PASSED_PREFIXES.some((prefix) => name.startsWith(prefix));
    expect(Object.keys(environment).filter((name) => !allowed(name))).toEqual([]);
  });

  it('passes through the variables a list in env names, and leaves out a listed one the client does not have', async () => {
    const compute = pool({ env: [SENTINEL, 'LOCAL_TEST_NOT_SET_ANYWHERE'] });
    expect(await run(compute, 'variable', SENTINEL)).toBe(sentinelValue);
    const environment = await run<Record<string, string>>(compute, 'environment');
    expect('LOCAL_TEST_NOT_SET_ANYWHERE' in environment).toBe(false);
    expect(environment.AWS_SECRET_ACCESS_KEY).toBeUndefined();
  });

  it('sets the values an object in env gives, passes through its true entries, and lets an entry win over a fixed variable', async () => {
    const compute = pool({ env: { [SENTINEL]: true, LOCAL_TEST_MODE: 'set-by-option', TZ: 'Pacific/Auckland' } });
    const environment = await run<Record<string, string>>(compute, 'environment');
    expect(environment[SENTINEL]).toBe(sentinelValue);
    expect(environment.LOCAL_TEST_MODE).toBe('set-by-option');
    expect(environment.TZ).toBe('Pacific/Auckland');
  });

  it("passes NODE_OPTIONS only when env names it, and memoryMb still sets the heap limit", async () => {
    const loaded = pool({ env: ['NODE_OPTIONS'] });
    expect(await run(loaded, 'variable', 'LOCAL_TEST_CLIENT_LOADER_RAN')).toBe('yes');
    const bigger = pool({ memoryMb: 128, env: { NODE_OPTIONS: '--max-old-space-size=1024' } });
    expect(await run(bigger, 'variable', 'NODE_OPTIONS')).toBe('--max-old-space-size=1024');
    // The command line's --max-old-space-size comes after NODE_OPTIONS and wins.
    expect(await run<number>(bigger, 'heapLimitMb')).toBeLessThan(512);
  });

  it('reaches the workers from the plugin options core passes (compute.options.env)', async () => {
    const compute = plugin.createCompute(
      { workers: 1, memoryMb: 128, env: [SENTINEL] },
      { configPath: 'compute.options', baseDirectory: root, storage, storageReference: storage.reference },
    );
    pools.push(compute);
    expect(await run(compute, 'variable', SENTINEL)).toBe(sentinelValue);
  });

  it('refuses an invalid env when the pool is made directly, naming the setting', () => {
    expect(() => new LocalCompute({ storageReference: storage.reference, env: 'PATH' as never })).toThrow(/settings\.env must be a list of variable names/);
    expect(() => new LocalCompute({ storageReference: storage.reference, env: { A: 1 } as never })).toThrow(/settings\.env\.A must be a string/);
  });
});

describe('the private folder of local workers', () => {
  it('runs tasks in a folder of the pool, with TMPDIR inside it, and removes it on dispose', async () => {
    const compute = new LocalCompute({ storageReference: storage.reference, workers: 1, memoryMb: 128 });
    const seen = await run<{ cwd: string; tmp: string; bundle: string; sep: string }>(compute, 'folders');
    const environment = await run<Record<string, string>>(compute, 'environment');
    await compute.dispose();
    expect(seen.cwd).not.toBe(process.cwd());
    const folder = join(seen.cwd, '..');
    expect(folder.startsWith(join(tmpdir(), 'fanout-workers-'))).toBe(true);
    // The task module was imported from the same private folder, and its require() shim works there.
    for (const path of [seen.tmp, seen.bundle]) expect(relative(folder, path).startsWith('..')).toBe(false);
    expect(seen.sep).toBe('/');
    expect([environment.TMPDIR, environment.TMP, environment.TEMP]).toEqual([seen.tmp, seen.tmp, seen.tmp]);
    expect(existsSync(folder)).toBe(false);
  });

  it('removes the folder when a client that forgot dispose() exits', async () => {
    const payloadFile = join(root, `payload-${randomUUID()}.bin`);
    await writeFile(payloadFile, serialize(payloadFor('folders', [null])));
    const index = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href;
    const worker = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'packages', 'worker', 'dist', 'index.js')).href;
    const source = `
      import { readFileSync } from 'node:fs';
      import { deserialize } from 'node:v8';
      import { LocalCompute } from ${JSON.stringify(index)};
      import { decodeRecord } from ${JSON.stringify(worker)};
      const compute = new LocalCompute({ storageReference: ${JSON.stringify(storage.reference)}, workers: 1, memoryMb: 128 });
      const result = await compute.invoke(deserialize(readFileSync(${JSON.stringify(payloadFile)})), { mode: 'sync' });
      console.log(decodeRecord(result.record, 'response').outcomes[0].value.cwd);
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', source], { timeout: 15_000 });
    const folder = join(stdout.trim(), '..');
    expect(folder.startsWith(join(tmpdir(), 'fanout-workers-'))).toBe(true);
    expect(existsSync(folder)).toBe(false);
  }, 20_000);

  it('gives each pool its own folder', async () => {
    const [first, second] = await Promise.all([run<{ cwd: string }>(pool(), 'folders'), run<{ cwd: string }>(pool(), 'folders')]);
    expect(first.cwd).not.toBe(second.cwd);
  });
});

describe('a storage that reads its credentials from the environment', () => {
  let reference: StorageReferenceV1;

  beforeAll(async () => {
    // A storage plugin (module of its own, opened by each worker) that needs LOCAL_TEST_TOKEN.
    const spec = pathToFileURL(join(import.meta.dirname, '..', '..', '..', 'packages', 'spec', 'dist', 'index.js')).href;
    const local = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'index.js')).href;
    const file = join(root, 'token-storage.mjs');
    await writeFile(
      file,
      `import { ErrorCode, FanoutError } from ${JSON.stringify(spec)};
       import { LocalStorage } from ${JSON.stringify(local)};
       export default {
         specificationVersion: 'v1',
         name: 'token-storage',
         createStorage(options) {
           if (process.env.LOCAL_TEST_TOKEN !== 'token-value') {
             throw new FanoutError('token-storage: LOCAL_TEST_TOKEN is not set.', { code: ErrorCode.ACCESS_DENIED, fault: 'caller' });
           }
           return new LocalStorage({ root: options.root });
         },
       };`,
    );
    reference = { module: pathToFileURL(file).href, options: { root } };
    process.env.LOCAL_TEST_TOKEN = 'token-value';
  });

  it('fails with ACCESS_DENIED and says to list the variables in env when they are not listed', async () => {
    const compute = pool({ storageReference: reference });
    const error = await compute.invoke(payloadFor('variable', ['PATH']), { mode: 'sync' }).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(FanoutError.isInstance(error, 'ACCESS_DENIED'), String(error)).toBe(true);
    expect((error as FanoutError).message).toContain('LOCAL_TEST_TOKEN is not set');
    expect((error as FanoutError).message).toContain('compute.options.env');
  });

  it('works once env passes them through', async () => {
    const compute = pool({ storageReference: reference, env: ['LOCAL_TEST_TOKEN'] });
    expect(await run(compute, 'variable', 'LOCAL_TEST_TOKEN')).toBe('token-value');
  });
});
