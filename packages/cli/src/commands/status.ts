import type { JobStats } from '@fanout/core';
import type { StorageRequestCounts } from '@fanout/spec';
import type { Command } from 'commander';
import { globalOptionsOf, type CommandContext } from '../command-context.js';
import { withExecutor } from '../connection.js';
import { formatUsd, laneLines } from '../cost-report.js';
import { formatDuration, plural } from '../format.js';

const EXAMPLES = `
Examples:
  $ fanout status 20261129-142307-4k2j9x
  $ fanout status 20261129-142307-4k2j9x --json | jq .storage.requestsPerTask

Reads the job's state from storage without invoking anything: tasks done and failed,
invocations and retries, storage requests by kind (client and workers), timings, cost, and
the same per lane (of a job run over several, every lane's storage is read). The figures of
a finished job are the same at every look: its wall time ends with its last record, and the
requests this command makes to read the job are shown apart ('this status'), not as the job's.
With --json stdout carries exactly one JSON document, the job statistics.`;

export function registerStatusCommand(program: Command, context: CommandContext): void {
  program
    .command('status')
    .description('Show the state and statistics of a job, read from storage.')
    .argument('<id>', "job id, as printed by 'fanout run' and listed by 'fanout jobs'")
    .option('--json', 'print the statistics as one JSON document on stdout')
    .showHelpAfterError("(run 'fanout status --help' for usage)")
    .addHelpText('after', EXAMPLES)
    .action(async (jobId: string, options: { json?: boolean }, command: Command) => {
      const { io } = context;
      await withExecutor(io, globalOptionsOf(command), async (executor) => {
        const stats = await executor.inspect(jobId);
        io.stdout.write(options.json ? `${JSON.stringify(stats, null, 2)}\n` : formatStats(stats));
      });
    });
}

/** The statistics for people, one aspect per line. */
export function formatStats(stats: JobStats): string {
  const { tasks, invocations, storage, timings } = stats;
  const lines: Array<[string, string]> = [
    ['job', `${stats.jobId}: ${stats.state}`],
    ['tasks', `${tasks.total} total, ${tasks.succeeded} succeeded, ${tasks.failed} failed, ${tasks.pending} pending`],
    [
      'invocations',
      `${invocations.planned} planned, ${invocations.attempts} attempts, ${invocations.succeeded} succeeded, ${invocations.retried} retried, ` +
        `${invocations.backups} backups, ${invocations.duplicates} duplicates, ${invocations.throttled} throttled, ${invocations.coldStarts} cold starts`,
    ],
    ['chunking', `${plural(stats.chunkSize, 'task')} per invocation, ${stats.mode} mode`],
    ...storageLines(storage),
    ['wall time', formatDuration(timings.wallMs)],
    ['task time', formatSummary(timings.tasks)],
    ['invocation time', formatSummary(timings.invocations)],
    ['cost', formatUsd(stats.costUsd)],
    ...laneLines(stats),
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, text]) => `${label.padEnd(width)}  ${text}\n`).join('');
}

/**
 * The job's requests by side. Read from storage, the job's own client requests are not known
 * (storage does not keep them: the run's summary counted them); what this command read to
 * find the job is shown on a line of its own and counted nowhere else.
 */
function storageLines(storage: JobStats['storage']): Array<[string, string]> {
  const perTask = `${storage.requestsPerTask.toFixed(2)} per task`;
  if (!storage.inspection) {
    return [
      ['storage', `${storage.totalRequests} requests (${storage.fixedRequests} fixed), ${perTask}`],
      ['  client', formatCounts(storage.client)],
      ['  workers', formatCounts(storage.worker)],
    ];
  }
  return [
    ['storage', `${storage.totalRequests} requests recorded by the workers, ${perTask}`],
    ['  client', "not kept in storage: the run's own summary counted them"],
    ['  workers', formatCounts(storage.worker)],
    ['  this status', `${formatCounts(storage.inspection)} (reading the job; not counted above)`],
  ];
}

function formatCounts(counts: StorageRequestCounts): string {
  const requests = (['get', 'getRange', 'head', 'put', 'create', 'list', 'delete'] as const).map((kind) => `${kind} ${counts[kind]}`);
  return `${requests.join(', ')}; ${formatBytes(counts.bytesRead)} read, ${formatBytes(counts.bytesWritten)} written`;
}

function formatSummary(summary: JobStats['timings']['tasks']): string {
  if (summary.count === 0) return 'none yet';
  return `mean ${formatDuration(summary.meanMs)}, p50 ${formatDuration(summary.p50Ms)}, p95 ${formatDuration(summary.p95Ms)}, max ${formatDuration(summary.maxMs)} (${summary.count})`;
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
