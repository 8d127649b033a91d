import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInputs } from './inputs.js';

describe('readInputs', () => {
  let cwd: string;
  const read = async (name: string, contents: string) => {
    await writeFile(join(cwd, name), contents);
    return readInputs(name, { cwd, stdin: Readable.from([]) });
  };
  const fromStandardInput = (text: string) => readInputs('-', { cwd, stdin: Readable.from([Buffer.from(text)]) });

  beforeAll(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'fanout-inputs-'));
  });
  afterAll(() => rm(cwd, { recursive: true, force: true }));

  it('reads a JSON array, pretty-printed or not, with a byte order mark', async () => {
    expect(await read('a.json', '[1, {"b": 2}, "c"]')).toEqual([1, { b: 2 }, 'c']);
    expect(await read('a.data', '[\n  1,\n  2\n]\n')).toEqual([1, 2]);
    expect(await read('bom.json', '\uFEFF[true]')).toEqual([true]);
  });

  it('reads JSON lines by extension and by content, with CRLF and blank lines', async () => {
    expect(await read('a.jsonl', '[1, 2]\r\n\r\n[3, 4]\r\n')).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(await read('a.ndjson', '"x"')).toEqual(['x']);
    expect(await fromStandardInput('{"n": 1}\n{"n": 2}\n')).toEqual([{ n: 1 }, { n: 2 }]);
    // One line holding an array is an array of inputs; one line holding anything else is one input.
    expect(await fromStandardInput('[1, 2, 3]\n')).toEqual([1, 2, 3]);
    expect(await fromStandardInput('{"only": true}')).toEqual([{ only: true }]);
  });

  it('names the line of the first bad JSON line, counting blank lines', async () => {
    await expect(read('bad.jsonl', '1\n\n{"a": tru}\n')).rejects.toThrow(/bad\.jsonl, line 3, column 7: unexpected "t"/);
  });

  it('names the line and column of a syntax error deep in a JSON array', async () => {
    const text = `[\n${Array.from({ length: 500 }, (_, index) => `  {"n": ${index}},`).join('\n')}\n  {"n": 500,}\n]`;
    await expect(read('big.json', text)).rejects.toThrow(/big\.json is not valid JSON: line 502, column 13: unexpected "}"/);
  });

  it('says when a .json file is empty or not an array', async () => {
    await expect(read('empty.json', '  \n')).rejects.toThrow(/empty\.json is empty/);
    await expect(read('number.json', '42')).rejects.toThrow(/holds a number, not an array/);
  });

  it('calls standard input by its name in messages', async () => {
    await expect(fromStandardInput('1\n2\nthree\n')).rejects.toThrow(/standard input, line 3/);
  });
});
