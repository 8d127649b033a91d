import type { CostEstimate, JobStats } from '@fanout/core';
import { formatDuration, plural } from './format.js';

/** US dollars for people: enough digits for a single request to show. */
export function formatUsd(usd: number | null): string {
  if (usd === null) return 'unknown (no declared prices)';
  if (usd === 0) return '$0';
  return usd >= 0.01 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(3)}`;
}

/** An estimate, a lane per line, then the total. */
export function formatEstimate(estimate: CostEstimate): string {
  const source = estimate.measured ? `measured on a sample, ${formatUsd(estimate.sampleUsd)} spent` : 'given';
  const lines = [`estimate for ${plural(estimate.tasks, 'task')}, ${plural(estimate.chunkSize, 'task')} per invocation, ${formatDuration(estimate.taskDurationMs)} per task (${source})`];
  for (const lane of estimate.lanes) {
    lines.push(
      `  lane ${lane.name}: ${plural(lane.tasks, 'task')} in ${plural(lane.invocations, 'invocation')}: compute ${formatUsd(lane.totalUsd === null ? null : lane.computeUsd)}, storage ${formatUsd(lane.totalUsd === null ? null : lane.storageUsd)}, total ${formatUsd(lane.totalUsd)}`,
    );
  }
  lines.push(`total ${formatUsd(estimate.totalUsd)}`);
  return `${lines.join('\n')}\n`;
}

/** One line per lane: what it ran, how it fared, what it cost. */
export function laneLines(stats: JobStats): Array<[string, string]> {
  return stats.lanes.map((lane) => {
    const failures = Object.entries(lane.invocations.failures)
      .map(([failure, count]) => `${failure} ${count}`)
      .join(', ');
    const health = lane.breaker === 'closed' ? '' : `, breaker ${lane.breaker}`;
    return [
      `lane ${lane.name}`,
      `${lane.backends.compute}/${lane.backends.storage} ${lane.mode}: ${plural(lane.tasks, 'task')}, ${lane.invocations.attempts} attempts, ${lane.invocations.retried} retried, ` +
        `${lane.invocations.throttled} throttled${failures ? ` (failures: ${failures})` : ''}, cap ${lane.concurrency.cap}/${lane.concurrency.ceiling}${health}, ` +
        `${lane.storage.totalRequests} storage requests, active ${Math.round(lane.wallShare * 100)}% of wall time, cost ${formatUsd(lane.costUsd)}`,
    ];
  });
}
