import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');
const examples = join(root, 'examples');
const tsx = join(root, 'node_modules/.bin/tsx');

// The examples are what a new user runs first, as plain scripts with top-level await. They must
// print the right answer and exit 0: a regression once left `await fanout.dispose()` unsettled
// (every handle unreferenced), and Node exited 13 after printing the results.
async function runExample(script: string, ...args: string[]) {
  const cwd = await mkdtemp(join(tmpdir(), 'fanout-example-'));
  return run(tsx, [join(examples, script), ...args], { cwd, timeout: 60_000 });
}

describe('examples', () => {
  it('squares prints the ten squares and exits 0', async () => {
    const { stdout } = await runExample('squares/main.ts');
    expect(stdout.replace(/\s+/g, ' ')).toContain('1, 4, 9, 16, 25, 36, 49, 64, 81, 100');
  });

  it('monte-carlo-pi estimates pi to three decimals', async () => {
    const { stdout } = await runExample('monte-carlo-pi/main.ts');
    const estimate = Number(/pi ≈ ([\d.]+)/.exec(stdout)?.[1]);
    expect(Math.abs(estimate - Math.PI)).toBeLessThan(0.002);
  });

  it('word-count lists "the" as the most frequent word of its sample', async () => {
    const { stdout } = await runExample('word-count/main.ts');
    expect(stdout).toMatch(/most frequent words:\n\s+\d+\s+the\n/);
  });
});
