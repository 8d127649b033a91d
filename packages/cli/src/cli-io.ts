/** Where a command writes: enough of a stream for text output, so tests can capture it. */
export type OutputStream = {
  write(text: string): unknown;
  /** True when a person is watching: progress redraws in place instead of printing lines. */
  isTTY?: boolean;
  /** Terminal width, used for help and the progress bar. */
  columns?: number;
};

/** Where input comes from for `--inputs -` and for the confirmation prompt of `clean`. */
export type InputStream = AsyncIterable<string | Uint8Array> & { isTTY?: boolean };

/**
 * Everything a command touches outside itself. `main` fills what is left out from the running
 * process, so the binary passes nothing and tests pass strings-collecting streams and a temp cwd.
 */
export type CliIo = {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  /** Working directory: relative paths, the config file search and local storage resolve here. */
  cwd: string;
  /** Environment handed to core, which reads (and checks) the `FANOUT_*` variables in it. */
  env: Record<string, string | undefined>;
  /** Subscribe to Ctrl-C; returns the unsubscribe function. */
  onInterrupt(handler: () => void): () => void;
};

export function completeIo(partial: Partial<CliIo>): CliIo {
  return {
    stdout: partial.stdout ?? process.stdout,
    stderr: partial.stderr ?? process.stderr,
    stdin: partial.stdin ?? process.stdin,
    cwd: partial.cwd ?? process.cwd(),
    env: partial.env ?? process.env,
    onInterrupt: partial.onInterrupt ?? onProcessInterrupt,
  };
}

/**
 * Once the handler is removed Node's default applies again, so a second Ctrl-C after the first
 * was handled ends the process at once: nobody is stuck behind a slow cancellation.
 */
function onProcessInterrupt(handler: () => void): () => void {
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGINT', handler);
  };
}
