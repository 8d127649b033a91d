import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describeSetAside, describeWaiting, type Job, type TaskResult } from '@fanout/core';
import { ErrorCode, type FanoutError } from '@fanout/spec';
import type { CliIo } from './cli-io.js';
import { laneLines } from './cost-report.js';
import { formatDuration, plural } from './format.js';
import { ExitCode, printTaskFailures } from './output.js';
import { createProgress } from './progress.js';

/** How `run` and `results` present a job's outcome. */
export type ReportOptions = {
  /** JSON lines file for every outcome, `-` for stdout. Default: values on stdout when all succeed. */
  output?: string;
  /** Print the final statistics as the one JSON document on stdout. */
  json?: boolean;
  /** No progress and no summary; failures and errors still print. */
  quiet?: boolean;
};

/** One line of `--output`: a task's outcome, by input index. */
type OutputLine =
  | { index: number; ok: true; value: unknown }
  | { index: number; ok: false; error: { code: string; message: string; name?: string; stack?: string; logTail?: string } };

/**
 * Follow a job to its end with progress on stderr, then print its results. The first Ctrl-C
 * cancels the job; the handler then steps aside so a second one ends the process at once.
 * Returns the exit code.
 */
export async function reportJob(job: Job<unknown>, io: CliIo, options: ReportOptions): Promise<number> {
  const progress = createProgress({ stream: io.stderr, total: job.size, quiet: options.quiet === true, detail: progressDetail(job) });
  const outcomes: Array<TaskResult<unknown> | undefined> = new Array(job.size);
  let done = 0;
  let failed = 0;
  let cancelled = false;
  const stopListening = io.onInterrupt(() => {
    cancelled = true;
    stopListening();
    // Cancelling stops this client only: nothing is written, so the job can be resumed later.
    progress.note(
      `cancelling job ${job.id}: tasks not yet done will not run now ('fanout results ${job.id}' runs them later). Press Ctrl-C again to quit without waiting.`,
    );
    job.cancel().catch((error: unknown) => progress.note(`could not cancel job ${job.id}: ${(error as Error).message}`));
  });
  try {
    for await (const outcome of job) {
      // A duplicate report of a task (a backup that also finished) must not count twice.
      if (outcomes[outcome.index] !== undefined) continue;
      outcomes[outcome.index] = outcome;
      done++;
      if (!outcome.ok) failed++;
      progress.update(done, failed);
    }
  } finally {
    stopListening();
    progress.finish();
  }

  const settled = outcomes.filter((outcome): outcome is TaskResult<unknown> => outcome !== undefined);
  const failures = settled.flatMap((outcome) => (outcome.ok ? [] : [{ index: outcome.index, error: outcome.error }]));
  if (options.output !== undefined) await writeOutputLines(settled, options.output, io);

  const stats = job.stats();
  // What was found broken in storage and dealt with: the user should know, even when nothing failed.
  for (const report of stats.setAside) io.stderr.write(`set aside ${describeSetAside(report)}\n`);
  for (const line of stats.repaired) io.stderr.write(`repaired: ${line}\n`);
  if (options.json) {
    io.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
  } else if (options.output === undefined && failures.length === 0) {
    io.stdout.write(`${JSON.stringify(settled.map((outcome) => (outcome.ok ? (outcome.value ?? null) : null)))}\n`);
  }

  printTaskFailures(failures, io.stderr);
  if (!options.quiet) {
    const notRun = failures.filter(({ error }) => error.code === ErrorCode.JOB_CANCELLED).length;
    const failedTasks = failures.length - notRun;
    const state = cancelled ? 'cancelled' : failures.length ? 'failed' : 'succeeded';
    const counts = failures.length
      ? [`${settled.length - failures.length} succeeded`, failedTasks ? `${failedTasks} failed` : '', notRun ? `${notRun} not run` : '']
          .filter(Boolean)
          .join(', ')
      : plural(job.size, 'task');
    io.stderr.write(
      `job ${job.id} ${state}: ${counts} in ${formatDuration(stats.timings.wallMs)}, ${stats.storage.requestsPerTask.toFixed(2)} storage requests per task.\n`,
    );
    if (stats.lanes.length > 1) for (const [label, text] of laneLines(stats)) io.stderr.write(`  ${label}: ${text}\n`);
    if (notRun) io.stderr.write(`resume with: fanout results ${job.id}\n`);
    if (failures.length && options.output === undefined && !options.json) {
      io.stderr.write('Values are printed only when every task succeeds; add --output <file> to keep the successful ones.\n');
    }
    if (options.json && options.output === undefined) {
      io.stderr.write('With --json stdout carries the statistics; add --output <file> to keep the results.\n');
    }
  }
  if (cancelled) return ExitCode.interrupted;
  return failures.length ? ExitCode.failure : ExitCode.success;
}

/** Outcomes as JSON lines in input order, so line n is input n. */
async function writeOutputLines(outcomes: ReadonlyArray<TaskResult<unknown>>, path: string, io: CliIo): Promise<void> {
  const text = outcomes.map((outcome) => `${JSON.stringify(toOutputLine(outcome))}\n`).join('');
  if (path === '-') io.stdout.write(text);
  else await writeFile(resolve(io.cwd, path), text);
}

function toOutputLine(outcome: TaskResult<unknown>): OutputLine {
  if (outcome.ok) return { index: outcome.index, ok: true, value: outcome.value ?? null };
  return { index: outcome.index, ok: false, error: describeError(outcome.error) };
}

function describeError(error: FanoutError): Extract<OutputLine, { ok: false }>['error'] {
  return {
    code: error.code,
    message: error.message,
    ...(error.remoteName !== undefined ? { name: error.remoteName } : {}),
    ...(error.remoteStack !== undefined ? { stack: error.remoteStack } : {}),
    ...(error.logTail ? { logTail: error.logTail } : {}),
  };
}

/** How often the detail of the progress line is recomputed: `stats()` walks every outcome. */
const DETAIL_REFRESH_MS = 1000;

/**
 * What the progress line adds to the counts: for a job over several lanes, how many tasks each
 * lane has done and which lanes are throttled or out; for any job, what it is waiting for when
 * that is unusual (invocations accepted and not started, re-sent, backed up).
 */
function progressDetail(job: Job<unknown>): (final: boolean) => string | undefined {
  const severalLanes = job.stats().lanes.length > 1;
  let text: string | undefined;
  let refreshedMs = Number.NEGATIVE_INFINITY;
  return (final) => {
    if (!final && Date.now() - refreshedMs < DETAIL_REFRESH_MS) return text;
    refreshedMs = Date.now();
    const stats = job.stats();
    const lanes = severalLanes
      ? stats.lanes
          .map((lane) => {
            const health = lane.breaker !== 'closed' ? ` (breaker ${lane.breaker})` : lane.concurrency.cap < lane.concurrency.ceiling ? ` (throttled, cap ${lane.concurrency.cap})` : '';
            return `${lane.name} ${lane.tasks}${health}`;
          })
          .join(', ')
      : undefined;
    text = [lanes, describeWaiting(stats.waiting)].filter(Boolean).join('; ') || undefined;
    return text;
  };
}
