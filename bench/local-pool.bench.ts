// The local backend against piscina (worker threads, no durability), interleaved in one run on
// this machine, so that both see the same load. fanout runs its full protocol: inputs and
// result records go through storage, which is what makes a killed client able to re-attach.
// What it does not measure: the disk. Each fanout job's objects are deleted after it is timed
// (see cleanFanoutJobs), usually before the kernel has written them out, so the figures are a
// job's own costs; jobs whose objects are kept also use the disk's write bandwidth.
//
// Run with `pnpm run bench:local-pool`. The last line is one JSON object.
import { availableParallelism, tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@fanout/core';
import { Piscina } from 'piscina';
import { burn, tiny, transform } from './pool-tasks.mjs';

// Nine rounds by default: on a shared 2-core machine one sample of either side moves by a third,
// and the medians settle only over several.
const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const cores = availableParallelism();
const tinyCount = 20_000;
const cpuCount = 64;
const payloadCount = 2_000;
const payloadBytes = 64 * 1024;

const taskFile = fileURLToPath(new URL('./pool-tasks.mjs', import.meta.url));
const cwd = await mkdtemp(join(tmpdir(), 'fanout-bench-'));
const fanout = await connect({ compute: { backend: 'local', options: { workers: cores } } }, { cwd, configFile: false, env: {} });
const piscina = new Piscina({ filename: taskFile, minThreads: cores, maxThreads: cores });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function seconds(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return (performance.now() - started) / 1000;
}

/** Jobs run since the last {@link cleanFanoutJobs}. */
const finishedJobs: string[] = [];
const fanoutMap = async <T>(exportName: string, inputs: T[]) => {
  const job = await fanout.map({ module: taskFile, exportName }, inputs);
  const results = await job.results();
  finishedJobs.push(job.id);
  return results;
};
/**
 * Delete the objects of the jobs just timed, as `fanout clean` does, outside the timing. Each
 * payload job writes 262 MB to the storage folder; kept, a few rounds of them pile up gigabytes
 * of dirty pages whose writeback to disk (and, past the kernel's dirty limit, the throttling of
 * every writer) lands in later rounds' timings, so the bench would measure the disk and earlier
 * rounds instead of the job. A single job never waits for writeback either: fanout writes
 * through the page cache, which is what keeps results when the client dies (the durability the
 * protocol promises), without an fsync.
 */
const cleanFanoutJobs = async () => {
  if (finishedJobs.length > 0) await fanout.clean({ jobIds: finishedJobs.splice(0) });
};

/**
 * Between two jobs on either side: fanout's objects deleted, then the same pause for both, in which
 * background work (concurrent garbage collection, pools going idle) settles. Without the pause,
 * only fanout's side would get one (the time its deletions take).
 */
const settle = async () => {
  await cleanFanoutJobs();
  await new Promise((resolve) => setTimeout(resolve, 100));
};
const piscinaMap = <T>(name: string, inputs: T[]) => Promise.all(inputs.map((input) => piscina.run(input, { name })));

// Calibrate the CPU task to about 50 ms on this machine.
let iterations = 1_000_000;
for (;;) {
  const started = performance.now();
  burn(iterations);
  const elapsed = performance.now() - started;
  if (elapsed > 20) {
    iterations = Math.round((iterations * 50) / elapsed);
    break;
  }
  iterations *= 2;
}

const tinyInputs = Array.from({ length: tinyCount }, (_, index) => index);
const cpuInputs = Array.from({ length: cpuCount }, () => iterations);
const payloadInputs = Array.from({ length: payloadCount }, (_, index) => new Uint8Array(payloadBytes).fill(index & 0xff));
const megabytes = (2 * payloadCount * payloadBytes) / 1e6;

// Warm both pools on every task (processes and threads started, code loaded and optimized).
for (const [name, inputs] of [['tiny', tinyInputs], ['burn', cpuInputs.slice(0, 4)], ['transform', payloadInputs.slice(0, 200)]] as const) {
  await fanoutMap(name, [...inputs]);
  await piscinaMap(name, [...inputs]);
}
await settle();

const sequentialCpu = async () => seconds(async () => cpuInputs.forEach((input) => burn(input)));
type MapOn = <T>(exportName: string, inputs: T[]) => Promise<unknown[]>;

/** The three jobs, each as a function of the pool it runs on. */
const jobs = {
  Tiny: (map: MapOn) => map('tiny', tinyInputs),
  Cpu: (map: MapOn) => map('burn', cpuInputs),
  Payload: (map: MapOn) => map('transform', payloadInputs),
};
/** Their measurements. */
const measurements = {
  Tiny: async (map: MapOn) => tinyCount / (await seconds(() => jobs.Tiny(map))),
  // The sequential baseline is measured just before and just after each run, and averaged, so
  // that a burst of load elsewhere skews both alike (one baseline alone moved by a tenth).
  Cpu: async (map: MapOn) => {
    const before = await sequentialCpu();
    const pooled = await seconds(() => jobs.Cpu(map));
    return (before + (await sequentialCpu())) / 2 / pooled;
  },
  Payload: async (map: MapOn) => megabytes / (await seconds(() => jobs.Payload(map))),
};
const samples = {
  fanoutTiny: [] as number[],
  piscinaTiny: [] as number[],
  fanoutCpu: [] as number[],
  piscinaCpu: [] as number[],
  fanoutPayload: [] as number[],
  piscinaPayload: [] as number[],
};

for (let round = 1; round <= rounds; round += 1) {
  for (const name of ['Tiny', 'Cpu', 'Payload'] as const) {
    // Fanout first in odd rounds and piscina first in even ones, so that neither always runs
    // right after the other's heaviest phase.
    const sides = round % 2 === 1 ? (['fanout', 'piscina'] as const) : (['piscina', 'fanout'] as const);
    for (const side of sides) {
      const map = side === 'fanout' ? fanoutMap : piscinaMap;
      // The same job once untimed first, so that the sample starts from this side's own steady
      // state rather than from what the other side just left: after a payload job, 128 MB of
      // results to collect and a heap whose freed pages went back to the system (each side's
      // speed moved by up to a third with what ran before it).
      await jobs[name](map);
      await settle();
      samples[`${side}${name}`].push(await measurements[name](map));
      await settle();
    }
  }
  console.log(
    `round ${round}/${rounds}: tiny ${samples.fanoutTiny.at(-1)!.toFixed(0)} vs ${samples.piscinaTiny.at(-1)!.toFixed(0)} tasks/s; ` +
      `cpu speedup ${samples.fanoutCpu.at(-1)!.toFixed(2)} vs ${samples.piscinaCpu.at(-1)!.toFixed(2)}; ` +
      `payload ${samples.fanoutPayload.at(-1)!.toFixed(0)} vs ${samples.piscinaPayload.at(-1)!.toFixed(0)} MB/s`,
  );
}
// Sanity: both sides compute the same thing.
const check = await fanoutMap('transform', payloadInputs.slice(0, 1));
if ((check[0] as Uint8Array)[0] !== transform(payloadInputs[0]!)[0] || (await fanoutMap('tiny', [1]))[0] !== tiny(1)) {
  throw new Error('fanout and the local computation disagree');
}

await piscina.destroy();
await fanout.dispose();
await rm(cwd, { recursive: true, force: true });

const result = {
  cores,
  rounds,
  tinyTasksPerSecond: Math.round(median(samples.fanoutTiny)),
  piscinaTinyTasksPerSecond: Math.round(median(samples.piscinaTiny)),
  tinyRatioVsPiscina: +(median(samples.fanoutTiny) / median(samples.piscinaTiny)).toFixed(3),
  cpuSpeedup: +median(samples.fanoutCpu).toFixed(3),
  piscinaCpuSpeedup: +median(samples.piscinaCpu).toFixed(3),
  payloadMegabytesPerSecond: +median(samples.fanoutPayload).toFixed(1),
  piscinaPayloadMegabytesPerSecond: +median(samples.piscinaPayload).toFixed(1),
  payloadRatioVsPiscina: +(median(samples.fanoutPayload) / median(samples.piscinaPayload)).toFixed(3),
  // The same ratio taken round by round (each pair measured back to back), then the median: less
  // sensitive to load that changes between rounds on a shared machine.
  payloadPairedRatioVsPiscina: +median(samples.fanoutPayload.map((value, index) => value / samples.piscinaPayload[index]!)).toFixed(3),
};
console.log(JSON.stringify(result));
