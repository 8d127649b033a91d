import { describe, expect, it } from 'vitest';
import { stragglersToBackUp } from './stragglers.js';
import { newUnit, type Attempt } from './unit.js';

const NOW = 1_000_000;

function running(...ages: number[]): Set<Attempt> {
  return new Set(ages.map((age, index) => ({ unit: newUnit(index, 1), startedMs: NOW - age, isBackup: false }) as Attempt));
}

describe('stragglersToBackUp', () => {
  const durations = [100, 100, 100, 100];

  it('backs up ranges running three times the median, only in the tail of the job', () => {
    const chosen = stragglersToBackUp({ durations, planned: 100, queued: 0, running: running(350, 250, 50), backups: 0, stalled: false }, NOW);
    expect(chosen.map((attempt) => attempt.unit.first)).toEqual([0]);
    expect(stragglersToBackUp({ durations, planned: 100, queued: 1, running: running(350), backups: 0, stalled: false }, NOW), 'ranges still queued').toEqual([]);
    expect(stragglersToBackUp({ durations, planned: 20, queued: 0, running: running(350, 350, 350), backups: 0, stalled: false }, NOW), 'more than a tenth still running').toEqual([]);
    expect(stragglersToBackUp({ durations: [100, 100], planned: 100, queued: 0, running: running(350), backups: 0, stalled: false }, NOW), 'too few finished to know').toEqual([]);
  });

  it('waits at least 200 ms and bounds backups to a twentieth of the job over its life', () => {
    expect(stragglersToBackUp({ durations: [10, 10, 10], planned: 100, queued: 0, running: running(150), backups: 0, stalled: false }, NOW)).toEqual([]);
    expect(stragglersToBackUp({ durations, planned: 100, queued: 0, running: running(400, 400, 400, 400, 400, 400), backups: 0, stalled: false }, NOW)).toHaveLength(5);
    expect(stragglersToBackUp({ durations, planned: 100, queued: 0, running: running(400, 400), backups: 5, stalled: false }, NOW)).toEqual([]);
  });

  it('backs up every straggler of a stalled job, whatever is queued or running and however many backups it had', () => {
    const stalled = stragglersToBackUp({ durations, planned: 20, queued: 5, running: running(400, 400, 400, 50), backups: 5, stalled: true }, NOW);
    expect(stalled.map((attempt) => attempt.unit.first)).toEqual([0, 1, 2]);
  });
});
