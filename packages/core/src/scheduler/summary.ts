import type { DurationSummary } from '../job/job-types.js';

/** Mean, median, 95th percentile and maximum of a list of durations. */
export function summarize(durations: readonly number[]): DurationSummary {
  if (!durations.length) return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, maxMs: 0 };
  const sorted = [...durations].sort((a, b) => a - b);
  const at = (quantile: number) => sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))]!;
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    count: sorted.length,
    meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
    p50Ms: round(at(0.5)),
    p95Ms: round(at(0.95)),
    maxMs: round(sorted.at(-1)!),
  };
}
