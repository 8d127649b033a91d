import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { InjectedFaults } from '../faults/with-faults.js';

/** What one chaos scenario did: the faults injected and what came back. */
export type ChaosFigures = {
  /** Scenario name, such as `compute-throttled`. */
  scenario: string;
  /** What the scenario injects, in words. */
  description: string;
  mode: 'sync' | 'async' | 'mixed';
  /** Tasks in the job. */
  tasks: number;
  /** Seed of the fault decisions, to replay the run. */
  seed: number;
  /** Faults injected, all kinds together. */
  faultsInjected: number;
  /** Faults injected, by kind. */
  faults: InjectedFaults;
  /** Tasks whose correct result came back. */
  returned: number;
  /** Tasks whose result did not come back (failed, cancelled, never reported) or came back wrong. */
  lost: number;
  /** Results delivered more than once to the caller. */
  duplicates: number;
  /** Results that came back with a wrong value (also counted in `lost`). */
  wrong: number;
  /** Error codes of the tasks that failed, with counts. */
  failures: Record<string, number>;
  /** The code of the error starting the job threw, if it did (then every task is lost). */
  submitError: string | undefined;
  /** Whether the job was still unfinished at the time bound (and was cancelled). */
  timedOut: boolean;
  /** From submitting the job to its last result, in milliseconds. */
  wallMs: number;
  /** Invocation counters from `job.stats()`, when the job started. */
  invocations: { attempts: number; retried: number; backups: number; duplicates: number; throttled: number } | undefined;
};

/** Receives what the suite measures, for a certification report. Pass one as `environment.reporter`. */
export interface ConformanceReporter {
  /** Called once per chaos scenario, after it ran and before its assertions. */
  recordChaos(figures: ChaosFigures): void | Promise<void>;
}

/** A reporter that keeps everything in memory. */
export type ConformanceReportCollector = ConformanceReporter & {
  /** Chaos figures in the order the scenarios ran. */
  readonly chaos: ChaosFigures[];
};

/** Collect figures in memory, to read them in an `afterAll` of the same test file. */
export function createReportCollector(): ConformanceReportCollector {
  const chaos: ChaosFigures[] = [];
  return { chaos, recordChaos: (figures) => void chaos.push(figures) };
}

/**
 * Append figures to a file, one JSON object per line, for a program that runs the suite in other
 * processes (as {@link runConformance} does) and reads them back with {@link readReportFile}.
 */
export function fileReporter(path: string): ConformanceReporter {
  return { recordChaos: (figures) => appendFileSync(path, `${JSON.stringify({ kind: 'chaos', figures })}\n`) };
}

/** Read what {@link fileReporter} wrote; an absent file holds nothing. */
export function readReportFile(path: string): { chaos: ChaosFigures[] } {
  if (!existsSync(path)) return { chaos: [] };
  const chaos: ChaosFigures[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { kind?: string; figures?: ChaosFigures };
    if (entry.kind === 'chaos' && entry.figures) chaos.push(entry.figures);
  }
  return { chaos };
}

/** One row per scenario, for `console.table`: the faults injected, results lost and duplicates returned. */
export function chaosTable(figures: readonly ChaosFigures[]): Record<string, string | number>[] {
  return figures.map((entry) => ({
    scenario: entry.scenario,
    mode: entry.mode,
    'faults injected': entry.faultsInjected,
    'which faults': describeFaults(entry.faults),
    lost: entry.lost,
    duplicates: entry.duplicates,
    wrong: entry.wrong,
    attempts: entry.invocations?.attempts ?? '-',
    'wall ms': entry.wallMs,
    outcome: entry.submitError ? `submit failed: ${entry.submitError}` : entry.timedOut ? 'timed out' : Object.keys(entry.failures).join(', ') || 'ok',
  }));
}

/** The non-zero fault counts in words, such as `storage get 3, list 9` or `throttled 32`. */
export function describeFaults(faults: InjectedFaults): string {
  const parts: string[] = [];
  const storageByOperation = Object.entries(faults.storage.byOperation).map(([operation, count]) => `${operation} ${count}`);
  if (storageByOperation.length) parts.push(`storage ${storageByOperation.join(', ')}`);
  for (const [kind, count] of Object.entries(faults.compute)) {
    if (kind !== 'invocations' && count > 0) parts.push(`${kind} ${count}`);
  }
  return parts.join('; ') || 'none';
}
