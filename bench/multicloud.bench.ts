// One job over two lanes of different speeds against each lane alone, interleaved in one run.
// Both lanes are the local backend (so the figures measure dealing, not a network): "quick" with
// three workers, "slow" with one. The tasks wait rather than compute, so a lane's speed is its
// concurrency and the two cores of this machine are not what is measured. Every job uses the
// same chunk size, so solo and shared jobs cut the same invocations.
//
// laneRatio is the two-lane job's throughput over the sum of the two solo throughputs: 1 means
// dealing from one queue loses nothing; a lane idle while the other still has work lowers it.
//
// Run with `npm run bench:multicloud`. The last line is one JSON object.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type JobStats } from '@fanout/core';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const taskCount = Number(process.env.BENCH_TASKS ?? 600);
const taskMs = Number(process.env.BENCH_TASK_MS ?? 10);
const chunkSize = 5;
const lanes = { quick: 3, slow: 1 } as const;
type Run = 'quick' | 'slow' | 'both';

const taskFile = fileURLToPath(new URL('./lane-tasks.mjs', import.meta.url));
const cwd = await mkdtemp(join(tmpdir(), 'fanout-bench-multicloud-'));
const fanout = await connect(
  { lanes: Object.entries(lanes).map(([name, workers]) => ({ name, compute: { backend: 'local', options: { workers } } })) },
  { cwd, configFile: false, env: {} },
);
const inputs = Array.from({ length: taskCount }, () => taskMs);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Tasks per second of one job on the named lanes, and its stats. */
async function measure(run: Run): Promise<{ perSecond: number; stats: JobStats }> {
  const started = performance.now();
  const job = await fanout.map({ module: taskFile, exportName: 'pause' }, inputs, { chunkSize, lanes: run === 'both' ? ['quick', 'slow'] : [run] });
  const results = await job.results();
  const seconds = (performance.now() - started) / 1000;
  if (results.length !== taskCount || results.some((value) => value !== taskMs)) throw new Error(`the ${run} job returned wrong results`);
  await fanout.clean({ jobIds: [job.id] });
  return { perSecond: taskCount / seconds, stats: job.stats() };
}

// Warm-up: every worker started, the bundle stored, code paths compiled.
await measure('both');
const samples: Record<Run, number[]> = { quick: [], slow: [], both: [] };
const ratios: number[] = [];
const shared: JobStats[] = [];
const orders: Run[][] = [
  ['quick', 'slow', 'both'],
  ['both', 'quick', 'slow'],
  ['slow', 'both', 'quick'],
];
for (let round = 1; round <= rounds; round += 1) {
  // Rotate the order, so that a drift in load favours none of the three.
  for (const run of orders[(round - 1) % orders.length]!) {
    const { perSecond, stats } = await measure(run);
    samples[run].push(perSecond);
    if (run === 'both') shared.push(stats);
  }
  ratios.push(samples.both.at(-1)! / (samples.quick.at(-1)! + samples.slow.at(-1)!));
  const lanesLine = shared.at(-1)!.lanes.map((lane) => `${lane.name} ${lane.tasks}`).join(', ');
  console.log(
    `round ${round}/${rounds}: quick ${samples.quick.at(-1)!.toFixed(0)}/s, slow ${samples.slow.at(-1)!.toFixed(0)}/s, ` +
      `both ${samples.both.at(-1)!.toFixed(0)}/s (${lanesLine}), ratio ${ratios.at(-1)!.toFixed(3)}`,
  );
}
await fanout.dispose();
await rm(cwd, { recursive: true, force: true });

const perLane = Object.fromEntries(
  Object.keys(lanes).map((name) => {
    const of = shared.map((stats) => stats.lanes.find((lane) => lane.name === name)!);
    return [
      name,
      {
        workers: lanes[name as keyof typeof lanes],
        soloTasksPerSecond: Math.round(median(samples[name as Run])),
        sharedJobTasks: median(of.map((lane) => lane.tasks)),
        sharedJobTaskShare: +(median(of.map((lane) => lane.tasks)) / taskCount).toFixed(3),
        sharedJobWallShare: +median(of.map((lane) => lane.wallShare)).toFixed(3),
      },
    ];
  }),
);
const result = {
  tasks: taskCount,
  taskMs,
  chunkSize,
  rounds,
  laneRatio: +median(ratios).toFixed(3),
  laneRatioSpread: [+Math.min(...ratios).toFixed(3), +Math.max(...ratios).toFixed(3)],
  bothTasksPerSecond: Math.round(median(samples.both)),
  lanes: perLane,
  loadAverage: +loadavg()[0]!.toFixed(2),
};
console.log(JSON.stringify(result));
