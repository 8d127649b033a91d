import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { describeJsonSyntaxError } from '@fanout/core';
import type { InputStream } from './cli-io.js';
import { UsageError } from './usage-error.js';

/** Extensions that always mean one JSON value per line. */
const JSON_LINES_EXTENSIONS = new Set(['.jsonl', '.ndjson']);

/** The name `--inputs` takes for standard input. */
export const STANDARD_INPUT_NAME = '-';

/**
 * Read the inputs of a job: a JSON array, or JSON lines (one JSON value per line, blank lines
 * skipped). `.jsonl`/`.ndjson` are lines and `.json` is an array; anything else, standard input
 * included, is recognised by content. Every mistake is a {@link UsageError} naming the file and line.
 */
export async function readInputs(path: string, context: { cwd: string; stdin: InputStream }): Promise<unknown[]> {
  const fromStandardInput = path === STANDARD_INPUT_NAME;
  const name = fromStandardInput ? 'standard input' : path;
  const text = stripByteOrderMark(fromStandardInput ? await readAll(context.stdin) : await readInputsFile(resolve(context.cwd, path), path));
  const extension = fromStandardInput ? '' : extname(path).toLowerCase();

  if (JSON_LINES_EXTENSIONS.has(extension)) return parseJsonLines(text, name);
  if (extension === '.json') return parseJsonArray(text, name);
  return looksLikeJsonLines(text) ? parseJsonLines(text, name) : parseJsonArray(text, name);
}

/**
 * JSON lines when the first non-blank line is a whole JSON value, since a pretty-printed array
 * starts with a line like `[` that is not. A one-line array is the exception: `[1, 2, 3]` is
 * three inputs, as a reader would expect, not one.
 */
function looksLikeJsonLines(text: string): boolean {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  if (lines.length === 0) return false;
  try {
    const first = JSON.parse(lines[0]!) as unknown;
    return lines.length > 1 || !Array.isArray(first);
  } catch {
    return false;
  }
}

function parseJsonArray(text: string, name: string): unknown[] {
  if (text.trim() === '') throw new UsageError(`Inputs file ${name} is empty; it should hold a JSON array of inputs.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`Inputs file ${name} is not valid JSON: ${describeJsonSyntaxError(text, error)}.`, { cause: error });
  }
  if (!Array.isArray(parsed)) {
    throw new UsageError(
      `Inputs file ${name} holds ${describeType(parsed)}, not an array. It must be a JSON array with one element per task, or JSON lines (one value per line; name the file .jsonl).`,
    );
  }
  return parsed;
}

function parseJsonLines(text: string, name: string): unknown[] {
  const values: unknown[] = [];
  const lines = text.split('\n');
  for (const [index, rawLine] of lines.entries()) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '') continue;
    try {
      values.push(JSON.parse(line));
    } catch (error) {
      throw new UsageError(`Inputs file ${name}, ${describeJsonSyntaxError(line, error, index + 1)}. Each line must be one complete JSON value.`, { cause: error });
    }
  }
  return values;
}

async function readInputsFile(absolutePath: string, name: string): Promise<string> {
  try {
    return await readFile(absolutePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`Inputs file ${name} does not exist (looked for ${absolutePath}).`);
    if (code === 'EISDIR') throw new UsageError(`Inputs file ${name} is a directory, not a file.`);
    throw new UsageError(`Could not read inputs file ${name}: ${(error as Error).message}`, { cause: error });
  }
}

async function readAll(stream: InputStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
