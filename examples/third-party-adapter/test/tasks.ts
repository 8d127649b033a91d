// The task the end-to-end test maps; a module of its own, as fanout bundles a task's module.
export function squareWithBytes(value: number): { value: number; square: number; bytes: Uint8Array } {
  // Bytes in the result check that records survive the trip through Redis byte for byte.
  return { value, square: value * value, bytes: Uint8Array.of(value % 256, 0, 255) };
}
