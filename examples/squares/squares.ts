/** The smallest useful task: an ordinary exported function of an ordinary module. */
export function square(value: number): number {
  return value * value;
}
