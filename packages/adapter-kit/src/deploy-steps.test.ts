import { describe, expect, it } from 'vitest';
import { carryOutPlan, publicPlan, type PlannedStep } from './deploy-steps.js';

describe('carryOutPlan', () => {
  it('runs the changing steps in order, logs each, and returns the plan without its runs', async () => {
    const ran: string[] = [];
    const lines: string[] = [];
    const steps: PlannedStep[] = [
      { resource: 'bucket', name: 'b', action: 'keep' },
      { resource: 'function', name: 'f', action: 'create', detail: '1024 MiB', run: async () => void ran.push('f') },
      { resource: 'role', name: 'r', action: 'update', run: async () => void ran.push('r') },
    ];
    const plan = await carryOutPlan(steps, { log: (line) => lines.push(line) }, 'deployed');
    expect(ran).toEqual(['f', 'r']);
    expect(lines).toEqual(['bucket b: unchanged', 'function f: create (1024 MiB)…', 'role r: update…', 'deployed: 2 changes.']);
    expect(plan).toEqual(publicPlan(steps));
    expect(plan.steps[1]).toEqual({ resource: 'function', name: 'f', action: 'create', detail: '1024 MiB' });
  });

  it('says when nothing changes, and stops at the first failure or abort', async () => {
    const lines: string[] = [];
    await carryOutPlan([{ resource: 'bucket', name: 'b', action: 'keep' }], { log: (line) => lines.push(line) }, 'deployed');
    expect(lines.at(-1)).toBe('nothing to change.');
    const ran: string[] = [];
    const failing: PlannedStep[] = [
      { resource: 'a', name: '1', action: 'create', run: async () => Promise.reject(new Error('quota')) },
      { resource: 'b', name: '2', action: 'create', run: async () => void ran.push('b') },
    ];
    await expect(carryOutPlan(failing, {}, 'deployed')).rejects.toThrow('quota');
    expect(ran).toEqual([]);
    await expect(carryOutPlan(failing.slice(1), { signal: AbortSignal.abort() }, 'deployed')).rejects.toThrow(/aborted/);
    expect(ran).toEqual([]);
  });
});
