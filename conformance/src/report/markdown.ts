import type { ConformanceRunReport } from '../runner/run-conformance.js';
import { chaosTable } from './report.js';

/**
 * A certification report for people, in Markdown: the verdict, every group's totals, every
 * failure with its message, every skip with its reason, and the chaos figures.
 */
export function conformanceReportMarkdown(report: ConformanceRunReport): string {
  const lines: string[] = [];
  const cell = (value: unknown) => String(value).replaceAll('|', '\\|').replaceAll('\n', ' ');
  const table = (rows: readonly Record<string, unknown>[]) => {
    const [first] = rows;
    if (!first) return;
    const columns = Object.keys(first);
    lines.push(`| ${columns.join(' | ')} |`, `| ${columns.map(() => '---').join(' | ')} |`);
    for (const row of rows) lines.push(`| ${columns.map((column) => cell(row[column])).join(' | ')} |`);
    lines.push('');
  };
  lines.push(`# Conformance: ${report.adapter}`, '');
  lines.push(`**${report.ok ? 'Certified' : 'Not certified'}**: ${report.startedAt}, ${Math.round(report.durationMs / 1000)} s.`, '');
  const declared = [...Object.entries(report.capabilities.storage ?? {}).map(([name, value]) => ({ backend: 'storage', capability: name, value })), ...Object.entries(report.capabilities.compute ?? {}).map(([name, value]) => ({ backend: 'compute', capability: name, value }))];
  if (declared.length) {
    lines.push('## Declared capabilities', '');
    table(declared.map((row) => ({ ...row, value: typeof row.value === 'object' ? JSON.stringify(row.value) : row.value })));
  }
  lines.push('## Groups', '');
  table(report.groups.map((group) => ({ group: group.name, passed: group.passed, failed: group.failed, skipped: group.skipped })));
  const failed = report.tests.filter((test) => test.state === 'failed');
  if (failed.length || report.errors.length) {
    lines.push('## Failures', '');
    for (const test of failed) lines.push(`- **${test.suites.join(' › ')} › ${test.name}**: ${cell(test.errors.join(' / '))}`);
    for (const error of report.errors) lines.push(`- **outside any test**: ${cell(error)}`);
    lines.push('');
  }
  const skipped = report.tests.filter((test) => test.state === 'skipped');
  if (skipped.length) {
    lines.push('## Skipped', '');
    table(skipped.map((test) => ({ group: test.suites[0] ?? '', test: test.name, reason: test.skipReason ?? '(none given)' })));
  }
  if (report.chaos.length) {
    lines.push('## Chaos figures', '');
    table(chaosTable(report.chaos));
  }
  return lines.join('\n');
}
