import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TASKS_MODULE, temporaryProject } from './cli-harness.js';

// Real local backend: child processes start and bundles build, so allow more than the default.
const SLOW = 60_000;

describe('fanout run', () => {
  let project: Awaited<ReturnType<typeof temporaryProject>>;

  beforeAll(async () => {
    project = await temporaryProject({
      'tasks.mjs': TASKS_MODULE,
      'numbers.json': JSON.stringify([1, 2, 3, 4, 5]),
      'numbers.jsonl': '1\n2\n\n3\n',
      'numbers.txt': '{"n": 1}\n{"n": 2}\n',
      'empty.json': '[]',
      'broken.json': '[\n  1,\n  2,\n  }\n]\n',
      'broken.jsonl': '1\n2\n{"n": \n4\n',
      'object.json': '{"n": 1}',
      'unserializable.mjs': 'export function returnsFunction(value) {\n  return () => value;\n}\n',
    });
  });
  afterAll(() => project.remove());

  it(
    'prints the values as a JSON array in input order and the job id first',
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'numbers.json']);
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([1, 4, 9, 16, 25]);
      expect(run.stderr).toMatch(/^job (\S+) started \(5 tasks\); re-attach with: fanout results \1\n/);
      expect(run.stderr).toMatch(/succeeded: 5 tasks/);
    },
    SLOW,
  );

  it(
    'reads JSON lines, skipping blank lines, and writes every outcome to --output',
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'numbers.jsonl', '--output', 'out.jsonl', '-q']);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe('');
      const lines = (await readFile(join(project.cwd, 'out.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
      expect(lines).toEqual([
        { index: 0, ok: true, value: 1 },
        { index: 1, ok: true, value: 4 },
        { index: 2, ok: true, value: 9 },
      ]);
    },
    SLOW,
  );

  it(
    "reads inputs from standard input with '-', recognising JSON lines by content",
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', '-', '-q'], { stdin: Readable.from(['2\n', '3\n']) });
      expect(run.exitCode).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual([4, 9]);
    },
    SLOW,
  );

  it(
    'exits 1 on a task failure and prints its index, code, name, message, stack and log tail',
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'failOnMultiplesOfThree', '--inputs', 'numbers.json', '--output', 'failures.jsonl']);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/task 2: USER_CODE_ERROR.*RangeError.*no multiples of three: 3/);
      expect(run.stderr).toMatch(/\n {4}at failOnMultiplesOfThree/);
      expect(run.stderr).toMatch(/log tail:\n {4}\| about to fail on 3/);
      expect(run.stderr).toMatch(/4 succeeded, 1 failed/);
      const lines = (await readFile(join(project.cwd, 'failures.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
      expect(lines[2]).toMatchObject({ index: 2, ok: false, error: { code: 'USER_CODE_ERROR', name: 'RangeError' } });
      expect(lines[3]).toEqual({ index: 3, ok: true, value: 4 });
    },
    SLOW,
  );

  it(
    "prints a result that cannot be serialized as the worker's verdict, said once",
    async () => {
      const run = await runCli(project.cwd, ['run', 'unserializable.mjs', 'returnsFunction', '--inputs', 'numbers.json', '-q']);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/^task 0: RESULT_NOT_SERIALIZABLE: Task 0 returned a value that cannot be serialized: .*[^.]\. Return plain data/m);
      expect(run.stderr).not.toMatch(/FanoutError|threw|\.\./);
    },
    SLOW,
  );

  it(
    'prints no values when a task failed and no --output is given, since a partial array would mislead',
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'failOnMultiplesOfThree', '--inputs', 'numbers.json']);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/add --output <file>/);
    },
    SLOW,
  );

  it(
    'with --json prints the statistics as the one document on stdout',
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'numbers.json', '--json', '--output', 'json-run.jsonl']);
      expect(run.exitCode).toBe(0);
      const stats = JSON.parse(run.stdout);
      expect(stats.tasks).toEqual({ total: 5, succeeded: 5, failed: 0, pending: 0 });
      expect(stats.state).toBe('succeeded');
    },
    SLOW,
  );

  it(
    'with --no-durable writes no result record for results that come back in responses',
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'numbers.json', '--mode', 'sync', '--no-durable', '--chunk-size', '1', '--json', '-o', 'not-durable.jsonl']);
      expect(run.exitCode).toBe(0);
      const stats = JSON.parse(run.stdout);
      expect(stats.tasks.succeeded).toBe(5);
      // At least one invocation per task (a straggler backup may add one), and not one record written.
      expect(stats.invocations.attempts).toBeGreaterThanOrEqual(5);
      expect(stats.storage.worker.create + stats.storage.worker.put).toBe(0);
    },
    SLOW,
  );

  it('prints an empty array for an empty inputs file without starting a job', async () => {
    const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'empty.json']);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('[]\n');
  });

  it(
    'names EXPORT_NOT_FOUND and the exports there are when the export is missing, with exit code 2',
    async () => {
      const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'cube', '--inputs', 'numbers.json']);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/^error EXPORT_NOT_FOUND: .*cube.*square/m);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    },
    SLOW,
  );

  it('names the file, line and column of a malformed JSON array', async () => {
    const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'broken.json']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe("error: Inputs file broken.json is not valid JSON: line 4, column 3: unexpected \"}\".\n");
  });

  it('names the file and line of a malformed JSON line', async () => {
    const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'broken.jsonl']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: Inputs file broken\.jsonl, line 3, column 7: unexpected end of input\. Each line must be one complete JSON value\./);
  });

  it('explains that a .json inputs file must hold an array', async () => {
    const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'object.json']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/object\.json holds an object, not an array/);
  });

  it('names a missing inputs file and a missing task module', async () => {
    const missingInputs = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'nowhere.json']);
    expect(missingInputs.exitCode).toBe(2);
    expect(missingInputs.stderr).toMatch(/Inputs file nowhere\.json does not exist/);
    const missingModule = await runCli(project.cwd, ['run', 'missing.mjs', 'square', '--inputs', 'numbers.json']);
    expect(missingModule.exitCode).toBe(2);
    expect(missingModule.stderr).toMatch(/Task module missing\.mjs does not exist/);
  });

  it('refuses a bad --chunk-size before connecting, pointing at the command help', async () => {
    const run = await runCli(project.cwd, ['run', 'tasks.mjs', 'square', '--inputs', 'numbers.json', '--chunk-size', 'lots']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/--chunk-size <n\|auto>.*'lots' is invalid/);
    expect(run.stderr).toMatch(/fanout run --help/);
  });

  it(
    'cancels the job on the first Ctrl-C, exits 130, and says how to resume',
    async () => {
      const inputs = JSON.stringify(Array.from({ length: 40 }, (_, index) => index));
      const run = await runCli(
        project.cwd,
        ['run', 'tasks.mjs', 'slowIdentity', '--inputs', '-', '--concurrency', '1', '--chunk-size', '1'],
        {
          stdin: Readable.from([inputs]),
          onInterrupt: (handler) => {
            const timer = setTimeout(handler, 1500);
            return () => clearTimeout(timer);
          },
        },
      );
      expect(run.exitCode).toBe(130);
      const jobId = /^job (\S+) started/.exec(run.stderr)?.[1];
      expect(run.stderr).toContain(`cancelling job ${jobId}`);
      expect(run.stderr).toMatch(/tasks? did not run: the job was cancelled/);
      expect(run.stderr).toContain(`resume with: fanout results ${jobId}`);
      expect(run.stdout).toBe('');
    },
    SLOW,
  );
});
