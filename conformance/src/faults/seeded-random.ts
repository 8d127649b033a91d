/**
 * A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence, so
 * a fault pattern that broke something can be replayed. Not for anything that needs real
 * randomness.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Check a share of requests given as an option: a number from 0 to 1. */
export function assertShare(name: string, value: number | undefined): number {
  const share = value ?? 0;
  if (!(share >= 0 && share <= 1)) throw new TypeError(`${name} must be a share from 0 to 1, got ${String(value)}.`);
  return share;
}

/** Wait `milliseconds`, or reject with the signal's reason as soon as it aborts. */
export function delay(milliseconds: number, signal: AbortSignal | undefined, onAbort: () => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(onAbort());
      return;
    }
    const abort = () => {
      clearTimeout(timer);
      reject(onAbort());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve();
    }, milliseconds);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Decides, call by call, which fault (if any) to inject, from seeded draws against each kind's
 * share. The gap between two faults of one kind never exceeds twice the expected gap (`2 / share`
 * calls): a kind that has not come up by then is injected on the next call that draws no other.
 * So a run of ordinary length meets every planned fault whatever the seed, and the rate stays
 * close to the share (about 1.16 times it, from the cut-off gaps).
 */
export class FaultSchedule<Kind extends string> {
  /** Seeded draws for decisions within a fault (whether a timed-out write landed). */
  readonly random: () => number;
  private readonly sinceLast = new Map<Kind, number>();

  constructor(
    private readonly shares: readonly (readonly [Kind, number])[],
    seed: number,
  ) {
    this.random = seededRandom(seed);
    for (const [kind] of shares) this.sinceLast.set(kind, 0);
  }

  /** The fault for this call, or `undefined` for none. */
  next(): Kind | undefined {
    const draw = this.random();
    let edge = 0;
    let chosen: Kind | undefined;
    for (const [kind, share] of this.shares) {
      edge += share;
      if (chosen === undefined && share > 0 && draw < edge) chosen = kind;
    }
    for (const [kind, share] of this.shares) {
      if (share <= 0) continue;
      const calls = this.sinceLast.get(kind)! + 1;
      this.sinceLast.set(kind, calls);
      if (chosen === undefined && calls >= Math.ceil(2 / share)) chosen = kind;
    }
    if (chosen !== undefined) this.sinceLast.set(chosen, 0);
    return chosen;
  }
}
