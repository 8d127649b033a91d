// Vitest global setup: every test run gets its own temporary root, removed when the run ends.
// Tests make their working folders, storage roots and code caches with os.tmpdir(), which reads
// TMPDIR; the test processes and every child they start (local workers, CLI runs) inherit it.
// Without this, each run left a few hundred megabytes of job objects and records behind.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function setup(): Promise<() => Promise<void>> {
  const root = await mkdtemp(join(tmpdir(), 'fanout-tests-'));
  process.env.TMPDIR = root;
  return async () => {
    await rm(root, { recursive: true, force: true });
  };
}
