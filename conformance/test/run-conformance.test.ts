import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformanceReportMarkdown, runConformance, unboundedAsText } from '../src/index.js';
import { unboundedFromText } from '../src/runner/declared-capabilities.js';

// The programmatic runner, as `fanout conformance` uses it: certify an adapter module and get a
// machine-readable report back.
describe('runConformance', () => {
  it('certifies a storage-only plugin module and reports every group, test and skip reason', async () => {
    const report = await runConformance({
      adapterModule: './test/fixtures/memory-plugin.ts',
      cwd: join(import.meta.dirname, '..'),
      // Inside the workspace, packages resolve to their TypeScript sources.
      conditions: ['source'],
    });
    expect(report.errors).toEqual([]);
    expect(report.tests.filter((test) => test.state === 'failed')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.groups.map((group) => group.name)).toEqual([
      'storage: basics',
      'storage: byte ranges',
      'storage: listing',
      'storage: large objects',
      'storage: concurrency',
      'storage: conditional create',
      'storage: keys',
    ]);
    const largeObjects = report.tests.filter((test) => test.suites[0] === 'storage: large objects');
    expect(largeObjects.map((test) => [test.state, test.skipReason])).toEqual([
      ['skipped', 'requires capabilities.streaming, capabilities.maxObjectBytes ≥ 64 MiB'],
      ['skipped', `requires a declared capabilities.maxObjectBytes of at most 64 MiB to build (declared: ${Number.MAX_SAFE_INTEGER})`],
    ]);
    // A storage-only plugin runs no jobs, so no chaos scenario ran.
    expect(report.chaos).toEqual([]);
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
    const markdown = conformanceReportMarkdown(report);
    expect(markdown).toContain('**Certified**');
    expect(markdown).toContain('| storage: large objects | a 64 MiB object streams in');
  }, 240_000);

  it('writes unbounded capabilities into JSON as "Infinity", not null, and reads them back', () => {
    const capabilities = { compute: { maxMemoryMb: Number.POSITIVE_INFINITY, storedInputsAboveBytes: Number.POSITIVE_INFINITY, maxConcurrency: 4 } };
    const text = JSON.stringify(capabilities, unboundedAsText);
    expect(text).toContain('"storedInputsAboveBytes":"Infinity"');
    expect(JSON.parse(text, unboundedFromText)).toEqual(capabilities);
  });

  it('refuses a module that cannot be found with ADAPTER_NOT_FOUND', async () => {
    await expect(runConformance({ adapterModule: 'fanout-adapter-that-does-not-exist', cwd: import.meta.dirname })).rejects.toMatchObject({
      code: 'ADAPTER_NOT_FOUND',
    });
  });
});
