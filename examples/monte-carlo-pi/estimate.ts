export type Sample = { seed: number; points: number };

/**
 * Throws `points` random darts at the unit square and counts those inside the quarter circle.
 * Seeded, so every run of the example gives the same estimate.
 */
export function countInside({ seed, points }: Sample): number {
  // mulberry32: a tiny, fast, well-distributed 32-bit generator.
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  let inside = 0;
  for (let point = 0; point < points; point += 1) {
    const x = random();
    const y = random();
    if (x * x + y * y <= 1) inside += 1;
  }
  return inside;
}
