import { FanoutError, type Job } from '@fanout/core';
import type { AdapterPluginV1 } from '@fanout/spec';
import { afterAll, describe, expect } from 'vitest';
import { readComputeDeclaration } from '../compute/compute-session.js';
import { resolveEnvironment, type ConformanceEnvironment } from '../environment.js';
import { computeFactoryFromAdapter, type AdapterSetup } from '../factories.js';
import { sumInjectedFaults, withFaults, type FaultInjectingPlugin, type FaultPlan } from '../faults/with-faults.js';
import { collectResults, openJobGroup, type CollectedResults, type PluginOverride } from '../jobs/job-session.js';
import { square } from '../jobs/job-tasks.js';
import { chaosTable, type ChaosFigures } from '../report/report.js';
import { conformanceTest } from '../support/conformance-test.js';
import { CHAOS_SCENARIOS, type ChaosScenario } from './chaos-scenarios.js';

/** Tasks in each chaos job, ten per invocation unless the scenario says otherwise, so that a job makes about 100 invocations. */
export const CHAOS_TASKS = 1000;
const CHAOS_CHUNK = 10;

/**
 * Each invocation's timeout, before scaling, unless the scenario sets its own. A dropped
 * invocation is only noticed at its deadline (this plus core's grace period) and holds a unit of
 * concurrency until then; ten tiny tasks need a small fraction of it.
 */
const CHAOS_INVOCATION_TIMEOUT_MS = 2_000;

/** Time bound for one chaos job, before scaling. */
export const CHAOS_BOUND_MS = 60_000;

/**
 * Bounded retries a user could reasonably configure; the defaults (transient 3, timeout 1, crash 2)
 * are tuned for healthy platforms. A scenario failing with these is a real loss, not bad luck.
 */
const CHAOS_RETRIES = { transient: 10, timeout: 5, crash: 5, lost: 10, outOfMemory: 0, userCode: 0 };

/**
 * Chaos: for each scenario in {@link CHAOS_SCENARIOS}, a 1,000-task job through core on the adapter
 * with that fault injected ({@link withFaults}) must return every result exactly once, correct,
 * within a bounded time. Each scenario's figures (faults injected, results lost, duplicates
 * returned) go to `environment.reporter` and are printed as a table.
 */
export function describeChaos(setup: AdapterSetup, environment: ConformanceEnvironment = {}): void {
  const resolved = resolveEnvironment(environment);
  describe('chaos: whole jobs under injected faults', async () => {
    const declared = await readComputeDeclaration(computeFactoryFromAdapter(setup));
    const group = openJobGroup(setup, resolved);
    const all: ChaosFigures[] = [];
    const bound = resolved.scaled(CHAOS_BOUND_MS);
    afterAll(() => {
      if (all.length) console.table(chaosTable(all));
    });

    for (const scenario of CHAOS_SCENARIOS) {
      const mode = scenario.mode === 'prefer-async' && declared.capabilities.asyncInvoke ? 'async' : scenario.mode === 'prefer-async' ? 'sync' : undefined;
      const title = `${scenario.name} (${scenario.description}): ${CHAOS_TASKS} results come back exactly once, correct, within ${Math.round(bound / 1000)} s`;
      conformanceTest(resolved, title, { timeoutMs: CHAOS_BOUND_MS * 2 + 30_000 }, async () => {
        const plan = seeded(scenario.faults, resolved.seed);
        const { override, plugins } = faultyPlugins(setup, plan);
        const executor = await group.connect(override);
        const inputs = Array.from({ length: CHAOS_TASKS }, (_, index) => index);
        let job: Job<number> | undefined;
        let submitError: string | undefined;
        let collected: CollectedResults<number> | undefined;
        const started = Date.now();
        let finished = started;
        try {
          job = await executor.map(square, inputs, {
            chunkSize: scenario.chunkSize ?? CHAOS_CHUNK,
            timeoutMs: resolved.scaled(scenario.invocationTimeoutMs ?? CHAOS_INVOCATION_TIMEOUT_MS),
            retries: CHAOS_RETRIES,
            ...(mode ? { mode } : {}),
          });
          collected = await collectResults(job, bound);
          finished = Date.now();
        } catch (error) {
          finished = Date.now();
          submitError = FanoutError.isInstance(error) ? error.code : String(error);
        } finally {
          // Each scenario has its own backends; release them before the next scenario starts more.
          await executor.dispose();
        }
        const figures = figuresFor(scenario, job, collected, submitError, plugins, resolved.seed, finished - started);
        all.push(figures);
        await resolved.reporter?.recordChaos(figures);

        expect(figures.faultsInjected, 'faults injected: a scenario that injects none proves nothing').toBeGreaterThan(0);
        expect(submitError, 'starting the job failed').toBeUndefined();
        expect(
          { lost: figures.lost, duplicates: figures.duplicates, wrong: figures.wrong, timedOut: figures.timedOut },
          `failure codes of lost tasks: ${JSON.stringify(figures.failures)}`,
        ).toEqual({ lost: 0, duplicates: 0, wrong: 0, timedOut: false });
        expect(figures.wallMs, 'wall time of the job').toBeLessThanOrEqual(bound);
      });
    }
  });
}

function seeded(plan: FaultPlan, seed: number): FaultPlan {
  return {
    ...(plan.storage && { storage: { seed, ...plan.storage } }),
    ...(plan.compute && { compute: { seed, ...plan.compute } }),
  };
}

/** The setup's plugins with the plan's faults; a separate storage plugin gets the storage faults. */
function faultyPlugins(setup: AdapterSetup, plan: FaultPlan): { override: PluginOverride; plugins: FaultInjectingPlugin[] } {
  if (!setup.storagePlugin) {
    const plugin = withFaults(setup.plugin, plan);
    return { override: { compute: plugin }, plugins: [plugin] };
  }
  const compute = withFaults(setup.plugin as AdapterPluginV1, { ...(plan.compute && { compute: plan.compute }) });
  const storage = withFaults(setup.storagePlugin, { ...(plan.storage && { storage: plan.storage }) });
  return { override: { compute, storage }, plugins: [compute, storage] };
}

function figuresFor(
  scenario: ChaosScenario,
  job: Job<number> | undefined,
  collected: CollectedResults<number> | undefined,
  submitError: string | undefined,
  plugins: readonly FaultInjectingPlugin[],
  seed: number,
  wallMs: number,
): ChaosFigures {
  const faults = sumInjectedFaults(plugins.map((plugin) => plugin.injectedFaults()));
  let returned = 0;
  let wrong = 0;
  for (const [index, value] of collected?.values ?? []) {
    if (value === index * index) returned += 1;
    else wrong += 1;
  }
  const failures: Record<string, number> = {};
  for (const error of collected?.failures.values() ?? []) failures[error.code] = (failures[error.code] ?? 0) + 1;
  const stats = job?.stats();
  return {
    scenario: scenario.name,
    description: scenario.description,
    mode: stats?.mode ?? (scenario.mode === 'prefer-async' ? 'async' : 'sync'),
    tasks: CHAOS_TASKS,
    seed,
    faultsInjected: faults.total,
    faults,
    returned,
    lost: CHAOS_TASKS - returned,
    duplicates: collected?.duplicates ?? 0,
    wrong,
    failures,
    submitError,
    timedOut: collected?.timedOut ?? false,
    wallMs,
    invocations: stats && {
      attempts: stats.invocations.attempts,
      retried: stats.invocations.retried,
      backups: stats.invocations.backups,
      duplicates: stats.invocations.duplicates,
      throttled: stats.invocations.throttled,
    },
  };
}
