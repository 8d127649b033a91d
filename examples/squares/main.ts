// Squares ten numbers on the local backend (or whatever fanout.config.* / FANOUT_* select).
// Run it with `npm run example:squares`.
import { connect } from '@fanout/core';
import { square } from './squares.js';

const fanout = await connect();
try {
  const job = await fanout.map(square, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const results: number[] = await job.results();
  const stats = job.stats();
  console.log(`job ${job.id} on ${fanout.config.compute.backend}:`, results);
  console.log(
    `${stats.tasks.succeeded} tasks in ${stats.invocations.attempts} invocations, ${stats.storage.totalRequests} storage requests, ${stats.timings.wallMs} ms`,
  );
} finally {
  await fanout.dispose();
}
