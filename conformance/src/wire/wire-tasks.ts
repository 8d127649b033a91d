/**
 * The task module the wire group ships to workers through core. Like `jobs/job-tasks.ts`, it
 * imports nothing at its top (the task loads `node:fs` when it runs), so it bundles into a small
 * file on any platform.
 */

/** One task's input: its number, its pause, where it leaves its side effect, and whether its first run crashes. */
export type SideEffectTaskInput = {
  value: number;
  pauseMs: number;
  /** A file the workers share (a folder on this machine for local and emulated backends), one line appended per run. */
  effects: string;
  /** A file that marks the crash as done: while it is absent, the task creates it and ends its worker process. */
  crashMarker?: string;
};

/**
 * The square of `value`, after appending `value` as a line to the `effects` file and pausing
 * `pauseMs`: a side effect outside fanout's storage, which nothing undoes when the task runs
 * again. An input carrying `crashMarker` ends its worker process (exit code 70) the first time
 * it runs, before its own side effect and before any record is written, so that the tasks of
 * its range that ran before it have had theirs.
 */
export async function squareWithSideEffect(input: SideEffectTaskInput): Promise<number> {
  const { appendFileSync, existsSync, writeFileSync } = await import('node:fs');
  if (input.crashMarker !== undefined && !existsSync(input.crashMarker)) {
    writeFileSync(input.crashMarker, '');
    process.exit(70);
  }
  appendFileSync(input.effects, `${input.value}\n`);
  await new Promise((resolve) => setTimeout(resolve, input.pauseMs));
  return input.value * input.value;
}
