import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../src/main.js';
import type { CliIo } from '../src/cli-io.js';

/** What one in-process run of `fanout` printed and returned. */
export type CliRun = { exitCode: number; stdout: string; stderr: string };

/** A stream that keeps what is written, optionally posing as a terminal. */
export function capture(isTTY = false): { write(text: string): boolean; isTTY: boolean; columns: number; text: () => string } {
  const chunks: string[] = [];
  return {
    write(text: string) {
      chunks.push(text);
      return true;
    },
    isTTY,
    columns: 100,
    text: () => chunks.join(''),
  };
}

/**
 * Run `fanout` in-process in `cwd` with an empty environment, so a stray FANOUT_* variable of the
 * developer's shell cannot change the outcome (core refuses unknown ones).
 */
export async function runCli(cwd: string, argv: string[], io: Partial<CliIo> = {}): Promise<CliRun> {
  const stdout = capture();
  const stderr = capture();
  const exitCode = await main(argv, {
    cwd,
    env: {},
    stdout,
    stderr,
    stdin: Readable.from([]),
    onInterrupt: () => () => undefined,
    ...io,
  });
  return { exitCode, stdout: stdout.text(), stderr: stderr.text() };
}

/** A fresh working directory with the given files; storage lands in its `.fanout/storage`. */
export async function temporaryProject(files: Record<string, string>): Promise<{ cwd: string; remove: () => Promise<void> }> {
  const cwd = await mkdtemp(join(tmpdir(), 'fanout-cli-'));
  for (const [name, contents] of Object.entries(files)) await writeFile(join(cwd, name), contents);
  return { cwd, remove: () => rm(cwd, { recursive: true, force: true }) };
}

/** Task module used across the tests. */
export const TASKS_MODULE = `
export function square(value) {
  return value * value;
}

export function failOnMultiplesOfThree(value) {
  if (value % 3 === 0) {
    console.log('about to fail on', value);
    throw new RangeError('no multiples of three: ' + value);
  }
  return value;
}

export async function slowIdentity(value) {
  await new Promise((resolve) => setTimeout(resolve, 250));
  return value;
}
`;
