/** `@fanout/cli`: the `fanout` command line, runnable in-process for tests and embedding. */
export { main, createProgram } from './main.js';
export type { CliIo, InputStream, OutputStream } from './cli-io.js';
export { ExitCode } from './output.js';
