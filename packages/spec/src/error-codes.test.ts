import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultFaultOf, ErrorCode, errorFaults } from './error-codes.js';

/** The rows of the `## Codes` table in `docs/errors.md`, as code and Fault cell, in order. */
function documentedFaults(): { code: string; fault: string }[] {
  const markdown = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const start = markdown.indexOf('\n## Codes\n');
  expect(start, 'docs/errors.md has a "## Codes" section').toBeGreaterThan(-1);
  const next = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, next === -1 ? undefined : next);
  const tableLines = section.split('\n').filter((line) => line.startsWith('|'));
  expect(tableLines[0], 'the table header').toMatch(/^\| Code \| Fault \|/);
  // Every row after the header and its separator must parse, so a malformed row fails rather than being skipped.
  return tableLines.slice(2).map((line) => {
    const match = /^\| `([A-Z_]+)` \| ([a-z-]+) \|/.exec(line);
    if (match === null) throw new Error(`docs/errors.md: a codes row that does not parse: ${line}`);
    return { code: match[1]!, fault: match[2]! };
  });
}

/** The `Fault:` text of each code's JSDoc in `error-codes.ts`. */
function commentedFaults(): Record<string, string | undefined> {
  const source = readFileSync(new URL('./error-codes.ts', import.meta.url), 'utf8');
  const declaration = source.slice(source.indexOf('export const ErrorCode = {'), source.indexOf('} as const;'));
  const faults: Record<string, string | undefined> = {};
  for (const [, comment, code] of declaration.matchAll(/\/\*\*([\s\S]*?)\*\/\s*([A-Z_]+): '/g)) {
    faults[code!] = /Fault: ([a-z-]+)/.exec(comment!)?.[1];
  }
  return faults;
}

describe('error faults', () => {
  const codes: string[] = Object.values(ErrorCode);

  it('docs/errors.md has exactly one row per code, each with the fault of errorFaults', () => {
    const rows = documentedFaults();
    const rowCodes = rows.map((row) => row.code);
    expect(rowCodes.filter((code, index) => rowCodes.indexOf(code) !== index), 'codes with more than one row').toEqual([]);
    expect(rowCodes.filter((code) => !codes.includes(code)), 'rows naming no ErrorCode').toEqual([]);
    expect(codes.filter((code) => !rowCodes.includes(code)), 'codes without a row').toEqual([]);
    expect(Object.fromEntries(rows.map((row) => [row.code, row.fault]))).toEqual({ ...errorFaults });
  });

  it('the JSDoc of every code names the fault of errorFaults', () => {
    expect(commentedFaults()).toEqual({ ...errorFaults });
  });

  it('blames the platform for a code this version does not know', () => {
    expect(defaultFaultOf(ErrorCode.RESULT_NOT_SERIALIZABLE)).toBe('user-code');
    expect(defaultFaultOf('FROM_THE_FUTURE' as ErrorCode)).toBe('backend');
    expect(defaultFaultOf('toString' as ErrorCode)).toBe('backend');
  });
});
