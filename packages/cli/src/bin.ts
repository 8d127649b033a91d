#!/usr/bin/env node
import { main } from './main.js';

// An exit code rather than process.exit(): stdout piped to another program is flushed first.
process.exitCode = await main(process.argv.slice(2));
