/** How much of a task's output travels back in the result record. */
export const LOG_TAIL_BYTES = 4096;

type Write = typeof process.stdout.write;

/**
 * Capture what the process writes to stdout and stderr while `run` is active, keeping the last
 * {@link LOG_TAIL_BYTES}. `echo` also passes it through (cloud runtimes, whose platform keeps
 * logs); the local pool turns it off so tasks do not scribble over the client's terminal.
 */
export async function captureLogs<T>(echo: boolean, run: () => Promise<T>): Promise<{ value: T; tail: string }> {
  let tail = '';
  const originals: [NodeJS.WriteStream, Write][] = [
    [process.stdout, process.stdout.write],
    [process.stderr, process.stderr.write],
  ];
  for (const [stream, original] of originals) {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      tail += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (tail.length > LOG_TAIL_BYTES * 2) tail = tail.slice(-LOG_TAIL_BYTES);
      if (echo) return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
      const callback = rest.find((argument) => typeof argument === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as Write;
  }
  try {
    const value = await run();
    return { value, tail: tail.slice(-LOG_TAIL_BYTES) };
  } finally {
    for (const [stream, original] of originals) stream.write = original;
  }
}
