// Asynchronous Lambda invocations per second from one client: fanout's AwsCompute.invoke against
// a plain loop of @aws-sdk/client-lambda calls with the same concurrency and the same socket
// pool, interleaved round by round in one run so that both see the same machine. The Invoke API
// is the protocol-faithful test server (adapters/aws/test), in a process of its own, answering
// every Event invocation 202 at once; so the figures measure the client side of dispatch.
//
// Both clients are configured alike (keep-alive sockets sized to the concurrency, no SDK retries,
// the SDK's middleware cache). fanout sends from its dispatch threads (the adapter's default,
// docs/decisions/0010), the plain loop from the one thread a plain user has; the CPU figures
// count every thread of this process, the test server's excluded.
//
// Run with `pnpm run bench:aws-dispatch` (after `npx tsc -b`). The last line is one JSON object.
import { fork } from 'node:child_process';
import { Agent } from 'node:http';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
// Workspace packages by path: the root package does not depend on them (bench/ runs with tsx).
import { PROTOCOL_VERSION, type InvocationPayloadV1 } from '../packages/spec/src/index.js';
import { AwsCompute } from '../adapters/aws/src/index.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const invocations = Number(process.env.BENCH_INVOCATIONS ?? 10_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 256);
const functionName = 'fanout-runtime';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const region = 'us-east-1';

// The SDK as a plain user has it, resolved from the adapter's own dependencies (same version).
const fromAdapter = createRequire(fileURLToPath(new URL('../adapters/aws/package.json', import.meta.url)));
const { LambdaClient, InvokeCommand } = fromAdapter('@aws-sdk/client-lambda') as typeof import('@aws-sdk/client-lambda');
const { NodeHttpHandler } = fromAdapter('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler');

const serverPath = fileURLToPath(new URL('../adapters/aws/test/lambda-test-server-process.ts', import.meta.url));
const server = fork(serverPath, [JSON.stringify({ functions: [{ name: functionName, codeDirectory: '/nonexistent' }], discardEvents: true })], {
  execArgv: ['--import', 'tsx'],
  stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
});
const endpoint = await new Promise<string>((resolve, reject) => {
  let text = '';
  server.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.includes('\n')) resolve((JSON.parse(text) as { endpoint: string }).endpoint);
  });
  server.once('exit', (code) => reject(new Error(`the test server exited with code ${code}`)));
});

// A typical small invocation: one task range with its inputs inline.
const payload: InvocationPayloadV1 = {
  protocol: PROTOCOL_VERSION,
  jobId: '20261129-120000-bench000',
  attempt: 1,
  code: { key: 'fanout/code/0000000000000000000000000000000000000000000000000000000000000000.mjs', sha256: '0'.repeat(64), exportName: 'square' },
  tasks: { first: 0, count: 4 },
  inputs: { inline: new Uint8Array(200).fill(7) },
  resultKey: 'fanout/results/20261129-120000-bench000/0000000000-000004',
  respond: false,
  timeoutMs: 300_000,
};

const fanout = new AwsCompute({ functionName, endpoint, region, credentials, concurrency, maxConcurrency: concurrency });
const plain = new LambdaClient({
  endpoint,
  region,
  credentials,
  maxAttempts: 1,
  cacheMiddleware: true,
  requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: concurrency }) }),
});
// The same JSON a plain user would send, encoded per call (bytes as base64) as fanout encodes its own.
const inline = (payload.inputs as { inline: Uint8Array }).inline;
const plainEvent = () => JSON.stringify({ ...payload, inputs: { inline: { $base64: Buffer.from(inline).toString('base64') } } });

/** Invocations per second, and this process's CPU time per invocation (less sensitive to a busy machine). */
async function measure(invoke: () => Promise<unknown>): Promise<{ perSecond: number; cpuMicroseconds: number }> {
  let next = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < invocations) {
        next += 1;
        await invoke();
      }
    }),
  );
  const used = process.cpuUsage(cpu);
  return { perSecond: invocations / ((performance.now() - started) / 1000), cpuMicroseconds: (used.user + used.system) / invocations };
}

// As core calls it: every invocation carries the signal of its attempt's deadline.
const viaFanout = () => fanout.invoke(payload, { mode: 'async', signal: new AbortController().signal });
const viaPlainSdk = () =>
  plain.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(plainEvent()) }));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// Warm-up: connections opened, code paths compiled.
await measure(viaFanout);
await measure(viaPlainSdk);
const samples = { fanout: [] as number[], plain: [] as number[] };
const cpu = { fanout: [] as number[], plain: [] as number[] };
for (let round = 1; round <= rounds; round += 1) {
  // Alternate which goes first, so a drift in load favours neither.
  const order = round % 2 === 1 ? (['fanout', 'plain'] as const) : (['plain', 'fanout'] as const);
  for (const side of order) {
    const { perSecond, cpuMicroseconds } = await measure(side === 'fanout' ? viaFanout : viaPlainSdk);
    samples[side].push(perSecond);
    cpu[side].push(cpuMicroseconds);
  }
  console.log(
    `round ${round}/${rounds}: fanout ${samples.fanout.at(-1)!.toFixed(0)}/s (${cpu.fanout.at(-1)!.toFixed(0)} µs CPU each), ` +
      `plain SDK ${samples.plain.at(-1)!.toFixed(0)}/s (${cpu.plain.at(-1)!.toFixed(0)} µs CPU each)`,
  );
}

const stats = await new Promise<{ byStatus: Record<string, number> }>((resolve) => {
  server.once('message', (message: { stats: { byStatus: Record<string, number> } }) => resolve(message.stats));
  server.send('stats');
});
await fanout.dispose();
plain.destroy();
server.kill('SIGTERM');

const expected = (rounds + 1) * invocations * 2;
if (stats.byStatus['202'] !== expected) throw new Error(`expected ${expected} accepted invocations, the server counted ${JSON.stringify(stats.byStatus)}`);
const result = {
  concurrency,
  invocationsPerRound: invocations,
  rounds,
  invocationsPerSecond: Math.round(median(samples.fanout)),
  plainSdkInvocationsPerSecond: Math.round(median(samples.plain)),
  ratioVsPlainSdk: +(median(samples.fanout) / median(samples.plain)).toFixed(3),
  cpuMicrosecondsPerInvocation: Math.round(median(cpu.fanout)),
  plainSdkCpuMicrosecondsPerInvocation: Math.round(median(cpu.plain)),
  loadAverage: +loadavg()[0]!.toFixed(2),
};
console.log(JSON.stringify(result));
