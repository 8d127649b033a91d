import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Executor, Job, JobStats, MapOptions } from '@fanout/core';
import { afterAll, afterEach, describe, expect } from 'vitest';
import { readComputeDeclaration } from '../compute/compute-session.js';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import { computeFactoryFromAdapter, type AdapterSetup } from '../factories.js';
import { collectResults, expectEveryResultOnce, openJobGroup, type CollectedResults } from '../jobs/job-session.js';
import { capability, conformanceTest } from '../support/conformance-test.js';
import { describeWireCounts, requestsFrom, type WireCounts, type WireFault, type WireFaultProxy, type WireFaultRule } from './wire-fault-proxy.js';
import { serviceOfKind, type WireService } from './wire-requests.js';
import { WIRE_INVOCATION_TIMEOUT_MS, WIRE_SCENARIOS, type WireScenario } from './wire-scenarios.js';
import { squareWithSideEffect, type SideEffectTaskInput } from './wire-tasks.js';

/** Tasks in each wire job, ten per invocation: twenty invocations, few enough for two cores and emulators. */
export const WIRE_TASKS = 200;
const WIRE_CHUNK = 10;
const WIRE_PAUSE_MS = 5;

/** Time bound for one wire job, before scaling. */
export const WIRE_BOUND_MS = 60_000;

/** Bounded retries a user could reasonably configure (as in the chaos group): a loss with these is a real loss. */
const WIRE_RETRIES = { transient: 10, timeout: 5, crash: 5, lost: 10, outOfMemory: 0, userCode: 0 };

/** The setup of a run through the fault proxy. */
export type WireSetup = AdapterSetup & {
  /**
   * The proxy the setup's endpoints name: the client's S3 and Lambda endpoints (the options)
   * `proxy.endpoints.client`, the workers' S3 endpoint `proxy.endpoints.worker`.
   */
  proxy: WireFaultProxy;
  /**
   * The services whose requests pass the proxy: `s3` for the storage, `lambda` when the compute is
   * Lambda. A scenario's rules for other services inject nothing (local compute has no wire) and
   * are not held to, and every service listed must see the client's requests.
   */
  services: readonly WireService[];
  /** How the figures name the run, such as `aws` or `local+s3`. Default: the plugin's name. */
  label?: string;
};

/** What one wire scenario did. */
export type WireFigures = {
  scenario: string;
  label: string;
  mode: 'sync' | 'async';
  tasks: number;
  seed: number;
  /** Tasks whose correct result did not come back. */
  lost: number;
  /** From submitting the job to its last result, in milliseconds. */
  wallMs: number;
  /** Results delivered to the caller more than once. */
  duplicatesDelivered: number;
  /** Records of ranges that were complete already, which the client read and discarded (`job.stats()`). */
  duplicateRecordsDiscarded: number;
  /** Tasks whose side effect happened more than once: they ran again, as exactly-once results allow. */
  tasksRunTwice: number;
  stats: JobStats['invocations'] & { resentLost: number; suspectBackups: number };
  /** What the proxy saw and did. */
  wire: WireCounts;
};

/**
 * Wire chaos: for each scenario of {@link WIRE_SCENARIOS}, a {@link WIRE_TASKS}-task job through
 * core, every request of the client and of its workers passing the fault proxy, must return every
 * result exactly once, correct. Results are exactly once; side effects are not: each task leaves
 * one (a line in a file the workers share), and the crash scenarios assert that the tasks run
 * before a crash left theirs twice. Each scenario prints one line of figures (lost, duplicates,
 * wall time, what was injected).
 *
 * The setup's options must name the proxy's ports (see {@link WireSetup}), and the workers must
 * share this machine's temporary folder: this group is for emulators and local backends.
 */
export function describeWireChaos(setup: WireSetup, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  const label = setup.label ?? setup.plugin.name;
  describe(`wire chaos (${label}): whole jobs through a fault-injecting HTTP proxy in front of the client and its workers`, async () => {
    const declared = await readComputeDeclaration(computeFactoryFromAdapter(setup));
    const group = openJobGroup(setup, resolved);
    const folder = await mkdtemp(join(tmpdir(), 'fanout-wire-'));
    const bound = resolved.scaled(WIRE_BOUND_MS);
    // Nothing after a scenario (the next one's setup, the group's cleanup) is faulted.
    afterEach(() => setup.proxy.setPlan(undefined));
    afterAll(() => rm(folder, { recursive: true, force: true }));

    for (const scenario of WIRE_SCENARIOS) {
      const requires = [scenario.mode === 'sync' ? capability('syncInvoke', declared.capabilities.syncInvoke) : capability('asyncInvoke', declared.capabilities.asyncInvoke)];
      const title = `${scenario.name} (${scenario.description}): every result exactly once`;
      conformanceTest(resolved, title, { timeoutMs: WIRE_BOUND_MS * 2, requires }, async () => {
        const effects = join(folder, `${scenario.name}.effects`);
        const inputs = Array.from({ length: WIRE_TASKS }, (_, value): SideEffectTaskInput => ({
          value,
          pauseMs: WIRE_PAUSE_MS,
          effects,
          ...(scenario.crashAt?.includes(value) ? { crashMarker: join(folder, `${scenario.name}.crashed-${value}`) } : {}),
        }));
        const executor = await group.connect();
        let job: Job<number>;
        let collected: CollectedResults<number>;
        let wallMs: number;
        try {
          const options = { timeoutMs: resolved.scaled(scenario.invocationTimeoutMs ?? WIRE_INVOCATION_TIMEOUT_MS), retries: WIRE_RETRIES, mode: scenario.mode };
          if (scenario.warmUp) await warmUp(executor, options, join(folder, `${scenario.name}.warm-up`));
          setup.proxy.setPlan({ rules: scenario.rules, seed: resolved.seed });
          const started = Date.now();
          job = await executor.map(squareWithSideEffect, inputs, { ...options, chunkSize: WIRE_CHUNK });
          collected = await collectResults(job, bound);
          wallMs = Date.now() - started;
        } finally {
          await executor.dispose();
        }
        const runs = await runsPerTask(effects);
        const figures = figuresFor(scenario, label, resolved.seed, job, collected, runs, setup.proxy.counts, wallMs);
        console.info(describeWireFigures(figures));

        expectEveryResultOnce(collected, WIRE_TASKS, (index) => index * index);
        // Otherwise some requests bypass the proxy, and the faults aimed at them are never injected.
        expect(requestsFrom(figures.wire, 'worker'), "the workers' storage requests through the proxy's worker port").toBeGreaterThan(0);
        for (const service of setup.services) {
          expect(requestsFrom(figures.wire, 'client', service), `the client's ${service} requests through the proxy's client port`).toBeGreaterThan(0);
        }
        // A rule for a service not on this wire matches nothing: it stays in the plan, so that the others keep their seeds.
        for (const rule of scenario.rules) if (rule.kinds.some((kind) => setup.services.includes(serviceOfKind(kind)))) expectRuleApplied(rule, figures.wire);
        if (scenario.expectsRepeatedCreates) expect(figures.wire.repeatedCreates, 'records the store accepted twice for one range').toBeGreaterThan(0);
        expect(runs.flatMap((count, index) => (count === 0 ? [index] : [])), 'tasks whose side effect never happened').toEqual([]);
        for (const crash of scenario.crashAt ?? []) {
          // Exactly-once covers results, not side effects: the tasks before the crash ran again with their range.
          const first = crash - (crash % WIRE_CHUNK);
          const before = runs.slice(first, crash);
          expect(before.every((count) => count >= 2), `runs of tasks ${first}-${crash - 1}, before the crash at ${crash}: ${JSON.stringify(before)}`).toBe(true);
        }
        if (scenario.expectsRerunTasks) expect(figures.tasksRunTwice, 'tasks that ran more than once').toBeGreaterThan(0);
      });
    }
  });
}

/** Start as many workers as the lanes run at once: single-task invocations, two per slot, with the scenario's options. */
async function warmUp(executor: Executor, options: Omit<MapOptions, 'chunkSize'>, effects: string): Promise<void> {
  const slots = executor.lanes.reduce((sum, lane) => sum + lane.controller.ceiling, 0);
  const inputs = Array.from({ length: 2 * slots }, (_, value): SideEffectTaskInput => ({ value, pauseMs: WIRE_PAUSE_MS, effects }));
  const job = await executor.map(squareWithSideEffect, inputs, { ...options, chunkSize: 1 });
  await job.results();
}

/** How many times each task's side effect happened, by task index. */
async function runsPerTask(effects: string): Promise<number[]> {
  const runs = new Array<number>(WIRE_TASKS).fill(0);
  const text = await readFile(effects, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (line !== '') runs[Number(line)] = (runs[Number(line)] ?? 0) + 1;
  }
  return runs;
}

/** The faults a rule names must have been injected on the requests it matches: a rule that injected nothing proves nothing. */
function expectRuleApplied(rule: WireFaultRule, counts: WireCounts): void {
  const named: WireFault[] = [];
  if (rule.faults?.throttle) named.push('throttle');
  if (rule.faults?.internalError) named.push('internal-error');
  if (rule.faults?.reset) named.push('reset');
  if (rule.faults?.delay) named.push('delay');
  if (rule.unconditional) expect(counts.unconditional, 'conditional creates sent as plain puts').toBeGreaterThan(0);
  if (named.length === 0) return;
  const injected = Object.entries(counts.faults).filter(([key]) => {
    const [origin, kind, fault] = key.split(' ') as [string, string, WireFault];
    return (rule.origin === undefined || rule.origin === origin) && (rule.kinds as readonly string[]).includes(kind) && named.includes(fault);
  });
  expect(injected.length, `faults ${named.join('/')} injected on ${rule.origin ?? 'any'} ${rule.kinds.join('/')}`).toBeGreaterThan(0);
}

function figuresFor(
  scenario: WireScenario,
  label: string,
  seed: number,
  job: Job<number>,
  collected: CollectedResults<number>,
  runs: readonly number[],
  wire: WireCounts,
  wallMs: number,
): WireFigures {
  let returned = 0;
  for (const [index, value] of collected.values) if (value === index * index) returned += 1;
  const stats = job.stats();
  return {
    scenario: scenario.name,
    label,
    mode: scenario.mode,
    tasks: WIRE_TASKS,
    seed,
    lost: WIRE_TASKS - returned,
    duplicatesDelivered: collected.duplicates,
    duplicateRecordsDiscarded: stats.invocations.duplicates,
    tasksRunTwice: runs.filter((count) => count > 1).length,
    wallMs,
    stats: { ...stats.invocations, resentLost: stats.waiting.resentLost, suspectBackups: stats.waiting.suspectBackups },
    wire: structuredClone(wire),
  };
}

/** One line per scenario, for the test report. */
export function describeWireFigures(figures: WireFigures): string {
  const { stats } = figures;
  return (
    `wire ${figures.label} ${figures.scenario} (${figures.mode}, seed ${figures.seed}): ${figures.tasks} tasks, lost ${figures.lost}, ` +
    `duplicates delivered ${figures.duplicatesDelivered}, duplicate records discarded ${figures.duplicateRecordsDiscarded}, wall ${figures.wallMs} ms; ` +
    `${stats.attempts} invocations (${stats.planned} planned, ${stats.retried} retried, ${stats.backups} backups (${stats.suspectBackups} as stalled), ${stats.resentLost} re-sent as lost, ${stats.throttled} throttled); ` +
    `tasks run more than once ${figures.tasksRunTwice}; ${describeWireCounts(figures.wire)}`
  );
}
