import { connect } from '@fanout/core';
import { fileURLToPath } from 'node:url';
import { burn } from './pool-tasks.mjs';
const taskFile = fileURLToPath(new URL('./pool-tasks.mjs', import.meta.url));
const fanout = await connect({ compute: { backend: 'local', options: { workers: 2 } } }, { cwd: '/tmp/zz', configFile: false, env: {} });
let it = 1_000_000; let t = performance.now(); burn(it); console.log('1M', performance.now() - t);
t = performance.now(); burn(10_000_000); console.log('10M', performance.now() - t);
for (let r = 0; r < 3; r++) {
  const s = performance.now();
  const job = await fanout.map({ module: taskFile, exportName: 'burn' }, Array.from({ length: 64 }, () => 5_000_000));
  await job.results();
  const st = job.stats();
  console.log(performance.now() - s, JSON.stringify(st.timings), st.invocations.attempts, st.invocations.backups);
}
await fanout.dispose();
