import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../..');
const tsx = join(root, 'node_modules/.bin/tsx');

let project: string;

/**
 * A script of a new user's: an ES module outside the repository that imports `@fanout/core` (the
 * built package, as installed) and awaits at its top level. Its exit code and output are what
 * the user sees.
 */
async function runScript(name: string, source: string, runtime: 'tsx' | 'node' = 'tsx') {
  const file = join(project, name);
  await writeFile(file, source);
  const [command, args] = runtime === 'tsx' ? [tsx, [file]] : [process.execPath, [file]];
  return promisify(execFile)(command, args, { cwd: project, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ exitCode: 0, stdout, stderr }),
    (error: { code?: number; stdout: string; stderr: string }) => ({ exitCode: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/**
 * A script that maps `task` over [1, 2, 3] at its top level, after `before`, and prints the
 * results as JSON or the error's code and message.
 */
function mappingScript(task: string, before = ''): string {
  return `import { connect } from '@fanout/core';
${before}
const fanout = await connect({ compute: { backend: 'local', options: { workers: 2 } } });
try {
  const job = await fanout.map(${task}, [1, 2, 3]);
  console.log(JSON.stringify(await job.results()));
} catch (error) {
  console.log(error.code, error.message);
} finally {
  await fanout.dispose();
}
`;
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'fanout-top-level-await-'));
  await mkdir(join(project, 'node_modules/@fanout'), { recursive: true });
  await symlink(join(root, 'packages/core'), join(project, 'node_modules/@fanout/core'), 'dir');
  await writeFile(join(project, 'helpers.mts'), 'export function triple(value: number): number {\n  return value * 3;\n}\n');
});

// Regression: resolving the task imported the module it was defined in, to see whether it was
// that module's export; a module still evaluating (its top-level await waiting on this very
// map()) never finishes importing, nothing else kept the event loop alive, and Node exited 13
// with neither the job's promise, nor catch, nor finally settled.
describe('a script that uses fanout with top-level await', () => {
  it('runs an inline arrow function and exits 0 with the results', async () => {
    const run = await runScript(
      'squares.mts',
      `import { connect } from '@fanout/core';
const fanout = await connect({ compute: { backend: 'local', options: { workers: 2 } } });
const job = await fanout.map((x: number) => x * x, [1, 2, 3]);
console.log(JSON.stringify(await job.results()));
await fanout.dispose();
`,
    );
    expect(run, run.stderr).toMatchObject({ exitCode: 0 });
    expect(run.stdout.trim()).toBe('[1,4,9]');
  });

  it('does the same as a plain .mjs file under node, without tsx', async () => {
    const run = await runScript('squares.mjs', mappingScript('(x) => x + 1'), 'node');
    expect(run, run.stderr).toMatchObject({ exitCode: 0 });
    expect(run.stdout.trim()).toBe('[2,3,4]');
  });

  it('refuses an inline function that captures a variable with TASK_NOT_SELF_CONTAINED, naming it, and exits normally', async () => {
    const run = await runScript('captures.mts', mappingScript('(x: number) => x * factor', 'const factor = 3;'));
    expect(run, run.stderr).toMatchObject({ exitCode: 0 });
    expect(run.stdout).toMatch(/^TASK_NOT_SELF_CONTAINED .*"factor"/);
  });

  it("refuses a task exported by the script that is still evaluating, saying why and what to do, when it needs the script's imports", async () => {
    const run = await runScript(
      'exports-task.mts',
      mappingScript('tripled', "import { triple } from './helpers.mjs';\nexport function tripled(x: number): number {\n  return triple(x);\n}"),
    );
    expect(run, run.stderr).toMatchObject({ exitCode: 0 });
    expect(run.stdout).toMatch(/^TASK_NOT_SELF_CONTAINED /);
    expect(run.stdout).toContain('"triple"');
    expect(run.stdout).toContain(join(project, 'exports-task.mts'));
    expect(run.stdout).toMatch(/top-level await/);
  });
});
