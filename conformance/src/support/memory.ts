import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collectGarbage: (() => void) | undefined;

/**
 * A function that runs a full garbage collection. Node offers one only with `--expose-gc`, which a
 * test runner's workers rarely have; setting the flag at run time and reading `gc` from a new
 * context is the documented workaround. Memory figures taken after a collection measure what the
 * code under test retains, not what V8 has merely not reclaimed yet.
 */
export function garbageCollector(): () => void {
  if (collectGarbage) return collectGarbage;
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') {
    collectGarbage = existing;
  } else {
    setFlagsFromString('--expose-gc');
    collectGarbage = runInNewContext('gc') as () => void;
    setFlagsFromString('--no-expose-gc');
  }
  return collectGarbage;
}

/** Growth of memory over a baseline, in bytes. */
export type MemoryGrowth = { rss: number; arrayBuffers: number; heapUsed: number };

/** Tracks the peak growth of memory over the baseline taken when it is made. */
export class MemoryWatch {
  private readonly baseline: NodeJS.MemoryUsage;
  readonly peak: MemoryGrowth = { rss: 0, arrayBuffers: 0, heapUsed: 0 };

  constructor() {
    garbageCollector()();
    this.baseline = process.memoryUsage();
  }

  /** Take a sample; `collect` first runs a full collection so that only live memory counts. */
  sample(collect = false): void {
    if (collect) garbageCollector()();
    const now = process.memoryUsage();
    this.peak.rss = Math.max(this.peak.rss, now.rss - this.baseline.rss);
    this.peak.arrayBuffers = Math.max(this.peak.arrayBuffers, now.arrayBuffers - this.baseline.arrayBuffers);
    this.peak.heapUsed = Math.max(this.peak.heapUsed, now.heapUsed - this.baseline.heapUsed);
  }

  /** The peak growth, in MiB, for messages. */
  describe(): string {
    const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    return `peak growth: rss ${mib(this.peak.rss)} MiB, array buffers ${mib(this.peak.arrayBuffers)} MiB, heap ${mib(this.peak.heapUsed)} MiB`;
  }
}
