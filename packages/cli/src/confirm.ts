import type { CliIo } from './cli-io.js';

/** Ask on a terminal; anywhere else there is nobody to answer, so the answer is no. */
export async function confirm(question: string, io: CliIo): Promise<boolean> {
  if (!io.stdin.isTTY) return false;
  io.stderr.write(`${question} [y/N] `);
  let answer = '';
  for await (const chunk of io.stdin) {
    answer += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (answer.includes('\n')) break;
  }
  return /^\s*y(es)?\s*$/i.test(answer.split('\n')[0] ?? '');
}
