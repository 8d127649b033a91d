import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, temporaryProject } from './cli-harness.js';

const conformanceFolder = resolve(import.meta.dirname, '../../../conformance');

describe('fanout conformance', () => {
  it('certifies an adapter and writes the report as Markdown and JSON', async () => {
    const project = await temporaryProject({});
    try {
      // A correct in-memory storage plugin that ships with the suite's own tests.
      const run = await runCli(conformanceFolder, ['conformance', './test/fixtures/memory-plugin.ts', '--out', project.cwd]);
      expect(run.stdout).toMatch(/^certified: \d+ passed, 0 failed, \d+ skipped/m);
      expect(run.exitCode).toBe(0);
      const report = JSON.parse(await readFile(join(project.cwd, 'report.json'), 'utf8')) as { ok: boolean; groups: { name: string }[] };
      expect(report.ok).toBe(true);
      expect(report.groups.map((group) => group.name)).toContain('storage: conditional create');
      const markdown = await readFile(join(project.cwd, 'report.md'), 'utf8');
      expect(markdown).toContain('**Certified**');
      // The capability table: the declared facts every skip rests on.
      expect(markdown).toContain('## Declared capabilities');
      expect(markdown).toMatch(/\| storage \| conditionalCreate \| true \|/);
      expect(markdown).toContain('requires capabilities.streaming');
    } finally {
      await project.remove();
    }
  }, 240_000);

  it('names an adapter that cannot be found', async () => {
    const project = await temporaryProject({});
    try {
      const run = await runCli(project.cwd, ['conformance', 'fanout-adapter-that-does-not-exist']);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toContain('fanout-adapter-that-does-not-exist');
    } finally {
      await project.remove();
    }
  });

  it('refuses options that are not JSON objects, naming the option', async () => {
    const run = await runCli(conformanceFolder, ['conformance', './x', '--storage-options', '[1]']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--storage-options');
  });
});
