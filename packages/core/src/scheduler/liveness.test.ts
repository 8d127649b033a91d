import { describe, expect, it } from 'vitest';
import { StartWatch } from '../lanes/start-watch.js';
import type { JobLane } from './job-lane.js';
import { judgeLiveness, lostError, MAX_SUSPECT_BACKUPS, RunWatch } from './liveness.js';
import { newUnit, type Attempt } from './unit.js';

const NOW = 1_000_000;

function laneWith(starts: number[], runs: number[] = [], signals?: boolean): JobLane {
  const watch = new StartWatch();
  for (const ms of starts) watch.started(ms, NOW);
  if (signals !== undefined) watch.signals = signals;
  const runWatch = new RunWatch();
  for (const ms of runs) runWatch.runs.add(ms);
  return { mode: 'async', lane: { starts: watch }, runs: runWatch } as unknown as JobLane;
}

function attempt(lane: JobLane, acceptedAgoMs: number, runningAgoMs?: number): Attempt {
  const unit = newUnit(0, 10);
  const made = { unit, lane, number: 1, acceptedMs: NOW - acceptedAgoMs, runningSinceMs: runningAgoMs === undefined ? undefined : NOW - runningAgoMs } as Attempt;
  unit.inFlight.add(made);
  return made;
}

describe('start deadlines', () => {
  it('are generous before any start was seen, follow four times the slowest start until ten were seen, then four times the 90th percentile or the slowest recent start', () => {
    expect(new StartWatch().startDeadlineMs()).toBe(10_000);
    expect(laneWith([200, 900]).lane.starts.startDeadlineMs()).toBe(3_600);
    expect(laneWith(Array.from({ length: 20 }, () => 100)).lane.starts.startDeadlineMs()).toBe(1_000);
    expect(laneWith(Array.from({ length: 20 }, (_, index) => (index < 18 ? 100 : 5_000))).lane.starts.startDeadlineMs()).toBe(20_000);
    expect(laneWith(Array.from({ length: 40 }, (_, index) => (index === 0 ? 2_500 : 100))).lane.starts.startDeadlineMs(), 'never below the slowest recent start, a cold one').toBe(2_500);
  });

  it('do not apply to workers that write no start signals', () => {
    expect(laneWith([], [], false).lane.starts.startDeadlineMs()).toBeUndefined();
  });
});

describe('judgeLiveness', () => {
  const trusted = Array.from({ length: 20 }, () => 100);

  it('finds an accepted invocation lost only once a listing made after its start deadline did not show it started', () => {
    const lane = laneWith(trusted);
    const waiting = attempt(lane, 1_500);
    const running = new Set([waiting, attempt(lane, 1_500, 1_400)]);
    expect(judgeLiveness({ running, listedMs: () => NOW - 600, backups: true }).lost).toEqual([]);
    expect(judgeLiveness({ running, listedMs: () => NOW, backups: true }).lost).toEqual([waiting]);
  });

  it('finds an accepted invocation lost once one accepted after it has run three seconds, before its start deadline', () => {
    // A platform at its concurrency limit queues events: starts take as long as the queue, but follow acceptance order.
    const lane = laneWith(Array.from({ length: 20 }, () => 8_000));
    const passedOver = attempt(lane, 5_000);
    const later = attempt(lane, 4_000, 2_500);
    const running = new Set([passedOver, later]);
    const judge = (now: number) => judgeLiveness({ running, listedMs: () => now, backups: true, now }).lost;
    lane.runs.started(later.acceptedMs!, NOW - 2_500);
    expect(judge(NOW), 'the later one started only 2.5 s ago').toEqual([]);
    expect(judge(NOW + 600)).toEqual([passedOver]);
    expect(lostError(passedOver, NOW + 600).message).toMatch(/accepted after them have been running for over 3 s/);
    const earlier = attempt(lane, 6_000);
    expect(judgeLiveness({ running: new Set([earlier]), listedMs: () => NOW, backups: true, now: NOW }).lost, 'still passed over once the later one finished').toEqual([earlier]);
    const after = attempt(laneWith(Array.from({ length: 20 }, () => 8_000)), 1_000);
    expect(judgeLiveness({ running: new Set([after]), listedMs: () => NOW, backups: true, now: NOW }).lost, 'nothing accepted later has started').toEqual([]);
  });

  it('allows a range given up as lost twice as long to start each time while the lane starts nothing accepted after it', () => {
    const lane = laneWith(trusted);
    const resent = attempt(lane, 1_500);
    resent.unit.lostResends = 1;
    expect(judgeLiveness({ running: new Set([resent]), listedMs: () => NOW, backups: true, now: NOW }).lost, 'within twice the deadline').toEqual([]);
    const later = attempt(lane, 2_500);
    later.unit.lostResends = 1;
    expect(judgeLiveness({ running: new Set([later]), listedMs: () => NOW, backups: true, now: NOW }).lost).toEqual([later]);
  });

  it('gives a re-sent range the plain deadline again once the lane has started an invocation accepted after it', () => {
    const lane = laneWith(trusted);
    const resent = attempt(lane, 1_500);
    resent.unit.lostResends = 2;
    lane.runs.started(NOW - 1_400, NOW - 1_300);
    expect(judgeLiveness({ running: new Set([resent]), listedMs: () => NOW, backups: true, now: NOW }).lost, 'dropped again, not slow').toEqual([resent]);
    const before = attempt(lane, 1_500);
    before.unit.lostResends = 2;
    const ownLane = laneWith(trusted);
    ownLane.runs.started(NOW - 1_600, NOW - 1_300);
    expect(judgeLiveness({ running: new Set([{ ...before, lane: ownLane }]), listedMs: () => NOW, backups: true, now: NOW }).lost, 'only one accepted earlier has started').toEqual([]);
  });

  it('re-sends a range once while the lane has not shown that its workers signal', () => {
    const lane = laneWith([]);
    const waiting = attempt(lane, 11_000);
    expect(judgeLiveness({ running: new Set([waiting]), listedMs: () => NOW, backups: true }).lost).toEqual([waiting]);
    waiting.unit.lostResends = 1;
    expect(judgeLiveness({ running: new Set([waiting]), listedMs: () => NOW, backups: true }).lost).toEqual([]);
  });

  it('suspects a started range running twice the job\'s 90th-percentile run, once enough runs were measured, and only its newest attempt', () => {
    const lane = laneWith(trusted, [800, 800, 800, 800, 800]);
    const stuck = attempt(lane, 2_000, 1_900);
    expect(judgeLiveness({ running: new Set([stuck]), listedMs: () => NOW, backups: true }).suspect).toEqual([stuck]);
    expect(judgeLiveness({ running: new Set([stuck]), listedMs: () => NOW, backups: false }).suspect, 'backups off').toEqual([]);
    expect(judgeLiveness({ running: new Set([attempt(lane, 1_600, 1_500)]), listedMs: () => NOW, backups: true }).suspect, 'not yet 2x').toEqual([]);
    expect(judgeLiveness({ running: new Set([attempt(laneWith(trusted, [300]), 2_000, 1_900)]), listedMs: () => NOW, backups: true }).suspect, 'too few runs').toEqual([]);
    const backup = { ...stuck, number: 2 } as Attempt;
    stuck.unit.inFlight.add(backup);
    expect(judgeLiveness({ running: new Set([stuck]), listedMs: () => NOW, backups: true }).suspect, 'has a newer attempt').toEqual([]);
    stuck.unit.inFlight.delete(backup);
    stuck.unit.suspectBackups = MAX_SUSPECT_BACKUPS;
    expect(judgeLiveness({ running: new Set([stuck]), listedMs: () => NOW, backups: true }).suspect, 'backups used up').toEqual([]);
  });
});
