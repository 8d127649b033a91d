import { describe, expect, it } from 'vitest';
import type { JobLane } from './job-lane.js';
import { RangeQueue } from './range-queue.js';

// Lanes are only identities to the queue.
const aws = { name: 'aws' } as JobLane;
const local = { name: 'local' } as JobLane;

describe('RangeQueue', () => {
  it('plans ranges of at most chunkSize around tasks that already have an outcome', () => {
    const done = new Set([2, 3, 7]);
    const queue = new RangeQueue(() => false);
    queue.plan(10, 3, (index) => done.has(index));
    const ranges = [];
    for (let unit = queue.takeFor(aws); unit; unit = queue.takeFor(aws)) ranges.push([unit.first, unit.count]);
    expect(ranges).toEqual([
      [0, 2],
      [4, 3],
      [8, 2],
    ]);
  });

  it('skips a range held back or excluded on one lane for that lane only, and drops settled ranges', () => {
    const settled = new Set<number>();
    const queue = new RangeQueue((first) => settled.has(first));
    queue.plan(3, 1, () => false);
    const first = queue.takeFor(aws)!;
    first.holds.set(aws, Date.now() + 60_000);
    queue.putFirst(first);
    const second = queue.takeFor(aws)!;
    expect(second.first, 'aws passes over the range it must wait for').toBe(1);
    second.excluded.add(local);
    queue.putFirst(second);
    expect(queue.takeFor(local)!.first, 'local takes the range aws waits for at once').toBe(0);
    settled.add(2);
    expect(queue.takeFor(local), 'nothing left for local: 1 is excluded, 2 settled').toBeUndefined();
    expect(queue.size).toBe(1);
  });

  it('wakes its caller once the earliest hold it passed over has gone by', async () => {
    const queue = new RangeQueue(() => false);
    queue.plan(1, 1, () => false);
    const unit = queue.takeFor(aws)!;
    unit.holds.set(aws, Date.now() + 30);
    queue.putFirst(unit);
    queue.resetHolds();
    expect(queue.takeFor(aws)).toBeUndefined();
    const woken = new Promise<number>((resolve) => queue.wakeAfterHolds(() => resolve(Date.now())));
    const wokenAt = await woken;
    expect(wokenAt).toBeGreaterThanOrEqual(unit.holds.get(aws)!);
    expect(queue.takeFor(aws)).toBe(unit);
    queue.clear();
  });
});
