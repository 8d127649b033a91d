// Counts the words of a text file with mapReduce: the file is cut into blocks of lines, each
// block is counted by one task, and one reduce task merges the counts.
// Run it with `npm run example:word-count -- [file]` (default: the sample text beside this file).
import { readFile } from 'node:fs/promises';
import { connect } from '@fanout/core';
import { countWords, topWords } from './words.js';

const file = process.argv[2] ?? new URL('./sample.txt', import.meta.url);
const lines = (await readFile(file, 'utf8')).split('\n');
const linesPerTask = 4;
const blocks = Array.from({ length: Math.ceil(lines.length / linesPerTask) }, (_, index) =>
  lines.slice(index * linesPerTask, (index + 1) * linesPerTask),
);

const fanout = await connect();
try {
  const job = await fanout.mapReduce(countWords, blocks, topWords);
  const [top] = await job.results();
  console.log(`${lines.length} lines in ${blocks.length} map tasks; most frequent words:`);
  for (const [word, count] of top ?? []) console.log(`  ${String(count).padStart(5)}  ${word}`);
} finally {
  await fanout.dispose();
}
