// Estimates pi from 40 million random points, split into 80 tasks.
// Run it with `npm run example:pi`.
import { connect } from '@fanout/core';
import { countInside, type Sample } from './estimate.js';

const tasks = 80;
const pointsPerTask = 500_000;
const samples: Sample[] = Array.from({ length: tasks }, (_, index) => ({ seed: index + 1, points: pointsPerTask }));

const fanout = await connect();
try {
  const started = performance.now();
  const job = await fanout.map(countInside, samples);
  const inside = (await job.results()).reduce((sum, count) => sum + count, 0);
  const estimate = (4 * inside) / (tasks * pointsPerTask);
  console.log(`pi ≈ ${estimate.toFixed(6)} (error ${Math.abs(estimate - Math.PI).toExponential(2)})`);
  console.log(`${tasks * pointsPerTask} points in ${tasks} tasks, ${(performance.now() - started).toFixed(0)} ms, job ${job.id}`);
} finally {
  await fanout.dispose();
}
