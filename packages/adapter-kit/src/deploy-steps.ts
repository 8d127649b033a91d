import type { DeploymentOptions, DeploymentPlanV1, DeploymentStepV1 } from '@fanout/spec';
import { throwIfAborted } from './abort.js';

/**
 * How every adapter's deployer carries out a plan. A deployer observes what exists (reads
 * only), computes the steps that make it what the options ask for, and returns that plan from
 * `planDeploy`; `deploy` carries out exactly those steps, in order, each logged before it
 * runs. A step that changes nothing (`keep`) has no `run`, so a second deploy of the same
 * options makes no changes and says so.
 */

/** A step of a plan, with what carrying it out takes. Keep steps have no `run`. */
export type PlannedStep = DeploymentStepV1 & { run?: () => Promise<void> };

/** The plan as `DeployerV1` returns it: the steps without their `run`. */
export function publicPlan(steps: readonly PlannedStep[]): DeploymentPlanV1 {
  return { steps: steps.map(({ resource, name, action, detail }) => ({ resource, name, action, ...(detail ? { detail } : {}) })) };
}

/**
 * Run `steps` in order, logging each ("function fanout-runtime: create (1024 MiB)…") and a
 * summary in the past tense of `verb` ("deployed: 3 changes."). Stops at the first failure or
 * abort: the steps before it stay done, and the next deploy, observing them, does not redo them.
 */
export async function carryOutPlan(steps: readonly PlannedStep[], options: DeploymentOptions, verb: string): Promise<DeploymentPlanV1> {
  const log = options.log ?? (() => undefined);
  for (const step of steps) {
    throwIfAborted(options.signal);
    const detail = step.detail ? ` (${step.detail})` : '';
    if (step.action === 'keep' || !step.run) {
      log(`${step.resource} ${step.name}: unchanged${detail}`);
      continue;
    }
    log(`${step.resource} ${step.name}: ${step.action}${detail}…`);
    await step.run();
  }
  const changed = steps.filter((step) => step.action !== 'keep').length;
  log(changed === 0 ? 'nothing to change.' : `${verb}: ${changed} change${changed === 1 ? '' : 's'}.`);
  return publicPlan(steps);
}
