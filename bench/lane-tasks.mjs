// Tasks of the multicloud benchmark: plain JavaScript, bundled by fanout like any task module.

/** Waits `ms` and returns it: an I/O-bound task, so that a lane's speed is its concurrency, not this machine's two cores. */
export async function pause(ms) {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ms;
}
