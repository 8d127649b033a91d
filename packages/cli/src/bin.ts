#!/usr/bin/env node
import { main } from './main.js';

// `fanout jobs | head` closes the pipe early; like other command-line tools, stop quietly
// instead of crashing with an unhandled EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

// An exit code rather than process.exit(): stdout piped to another program is flushed first.
process.exitCode = await main(process.argv.slice(2));
