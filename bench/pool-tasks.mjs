// Tasks shared by both sides of the local-pool benchmark. Plain JavaScript, so that piscina's
// worker threads can load this file as it is; fanout bundles it like any task module.

/** The smallest task there is. */
export function tiny(value) {
  return value + 1;
}

/** Burns CPU for `iterations` rounds of integer mixing; the benchmark calibrates it to ~50 ms. */
export function burn(iterations) {
  let state = 0x9e3779b9;
  for (let round = 0; round < iterations; round += 1) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
  }
  return state >>> 0;
}

/** Takes bytes and returns as many new ones: the payload-bound case. */
export function transform(bytes) {
  const out = new Uint8Array(bytes.length);
  for (let index = 0; index < bytes.length; index += 1) out[index] = bytes[index] ^ 0xff;
  return out;
}
