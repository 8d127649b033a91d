// A child for WorkerProcess tests: its "worker" does what the payload's `behaviour` says, and its
// "storage" writes reports into the folder the init settings name. Plain JavaScript, run by node.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FanoutError } from '@fanout/spec';
import { serveWorkerProcess } from '@fanout/worker';

const behaviours = {
  ok: async (payload) => ({ encoded: new TextEncoder().encode(`record of ${payload.jobId}`), respond: payload.respond === true }),
  exit: () => process.exit(7),
  'throw-later': () => new Promise(() => setTimeout(() => { throw new Error('thrown from a timer'); }, 10)),
  loop: () => { for (;;); },
  'fill-heap': () => {
    const kept = [];
    for (;;) kept.push(new Array(1e6).fill(kept.length));
  },
  refuse: () => { throw new FanoutError('the bundle does not match its hash', { code: 'CODE_INTEGRITY_FAILED' }); },
};

serveWorkerProcess({
  open: ({ folder }) => ({
    worker: { handle: (payload) => behaviours[payload.behaviour](payload) },
    storage: { put: async (key, bytes) => writeFileSync(join(folder, key), bytes) },
  }),
});
