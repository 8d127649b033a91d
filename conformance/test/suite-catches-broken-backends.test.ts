import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runSuiteFiles, type ConformanceTestOutcome, type SuiteRunResult } from '../src/runner/vitest-runner.js';

// The suite tests itself: deliberately broken backends must fail exactly the tests written to
// catch them, while an unrelated group on the same backend, and a correct backend, pass.
const fixtures = join(import.meta.dirname, 'fixtures');
let run: SuiteRunResult;

beforeAll(async () => {
  run = await runSuiteFiles([join(fixtures, 'broken-backends.fixture.ts'), join(fixtures, 'memory-storage.fixture.ts')], {
    root: join(import.meta.dirname, '..'),
    // Inside the workspace, packages resolve to their TypeScript sources.
    conditions: ['source'],
  });
}, 240_000);

/** The tests run for one backend (its outer describe) and one group. */
function testsOf(backend: string, group: string): ConformanceTestOutcome[] {
  const tests = run.tests.filter((test) => test.suites[0] === backend && test.suites[1] === group);
  expect(tests.length, `tests of ${group} on "${backend}"`).toBeGreaterThan(0);
  return tests;
}

function stateOf(backend: string, group: string, name: string): ConformanceTestOutcome['state'] {
  const matching = testsOf(backend, group).filter((test) => test.name.includes(name));
  expect(matching.map((test) => test.name), `tests named "${name}"`).toHaveLength(1);
  return matching[0]!.state;
}

function expectAllPassed(backend: string, group: string): void {
  const notPassed = testsOf(backend, group).filter((test) => test.state !== 'passed' && !(test.state === 'skipped' && test.skipReason));
  expect(notPassed.map((test) => `${test.name}: ${test.state} ${test.errors.join(' ')}`)).toEqual([]);
}

describe('the conformance suite catches broken backends', () => {
  it('runs without errors outside the tests', () => {
    expect(run.errors).toEqual([]);
  });

  it('fails a storage that returns null for a missing key, and passes it on concurrency', () => {
    expect(stateOf('returns null for a missing key', 'storage: basics', 'get of a missing key resolves undefined')).toBe('failed');
    expectAllPassed('returns null for a missing key', 'storage: concurrency');
  });

  it('fails a storage that ignores byte ranges, and passes it on basics', () => {
    const ranges = testsOf('ignores byte ranges', 'storage: byte ranges').filter((test) => test.name.startsWith('get with a range of bytes in the middle'));
    expect(ranges.map((test) => test.state)).toEqual(['failed']);
    expectAllPassed('ignores byte ranges', 'storage: basics');
  });

  it('fails a storage that loses a listing page, and passes it on basics', () => {
    expect(stateOf('loses a listing page', 'storage: listing', 'paging through cursors returns each of 2500 keys exactly once')).toBe('failed');
    expectAllPassed('loses a listing page', 'storage: basics');
  });

  it('fails a storage that ignores conditional create, and passes it on basics', () => {
    expect(stateOf('ignores conditional create', 'storage: conditional create', 'on an existing key returns false')).toBe('failed');
    expect(stateOf('ignores conditional create', 'storage: conditional create', 'concurrent creates of one key exactly one returns true')).toBe('failed');
    expect(stateOf('ignores conditional create', 'storage: conditional create', 'create writes an absent key and returns true')).toBe('passed');
    expectAllPassed('ignores conditional create', 'storage: basics');
  });

  it('skips only the tests that rely on create refusing an existing key when that emulator gap is declared', () => {
    const tests = testsOf('ignores conditional create, a declared emulator gap', 'storage: conditional create');
    expect(tests.map((test) => [test.name.replace(/ \(.*\)$/, ''), test.state, test.skipReason])).toEqual([
      ['a backend declaring capabilities.conditionalCreate has a create() method', 'passed', undefined],
      ['create writes an absent key and returns true', 'passed', undefined],
      ['create on an existing key returns false and leaves the object untouched, whether create or put wrote it', 'skipped', 'emulator gap: this fixture overwrites on create, as fauxqs does'],
      ['of 20 concurrent creates of one key exactly one returns true, and its bytes are stored', 'skipped', 'emulator gap: this fixture overwrites on create, as fauxqs does'],
    ]);
  });

  it('fails a storage that declares streaming but buffers whole bodies, and passes it on concurrency', () => {
    expect(stateOf('buffers streamed bodies', 'storage: large objects', 'with bounded client memory')).toBe('failed');
    expectAllPassed('buffers streamed bodies', 'storage: concurrency');
  });

  it('fails a compute that never reports a result, and skips its synchronous tests from its capabilities', () => {
    const backend = 'never reports a result';
    expect(stateOf(backend, 'compute: invocation', 'its record appears under resultKey')).toBe('failed');
    expect(stateOf(backend, 'compute: invocation', 'declares at least one invocation mode')).toBe('passed');
    const synchronous = testsOf(backend, 'compute: invocation').filter((test) => test.name.includes('synchronous invocation returns'));
    expect(synchronous.map((test) => [test.state, test.skipReason])).toEqual([['skipped', 'requires capabilities.syncInvoke']]);
  });

  it('passes a correct storage on every storage group, skipping only what its capabilities rule out', () => {
    const tests = run.tests.filter((test) => test.suites[0] === 'correct in-memory storage');
    expect(tests.length).toBeGreaterThan(40);
    expect(tests.filter((test) => test.state === 'failed').map((test) => `${test.name}: ${test.errors.join(' ')}`)).toEqual([]);
    const skipped = tests.filter((test) => test.state === 'skipped');
    // In-memory storage declares no streaming and has no getStream(); its object limit is tested.
    for (const test of skipped) expect(test.skipReason, test.name).toMatch(/requires .*(capabilities\.streaming|getStream\(\))/);
    const limit = tests.filter((test) => test.name.includes('capabilities.maxObjectBytes is stored'));
    expect(limit.map((test) => test.state)).toEqual(['passed']);
  });
});
