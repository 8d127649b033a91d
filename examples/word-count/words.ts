/** Counts the words of some lines: the map step. Words are lowercased runs of letters and apostrophes. */
export function countWords(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    for (const word of line.toLowerCase().match(/[\p{L}']+/gu) ?? []) {
      const trimmed = word.replace(/^'+|'+$/g, '');
      if (trimmed) counts.set(trimmed, (counts.get(trimmed) ?? 0) + 1);
    }
  }
  return counts;
}

/** Merges the partial counts and keeps the most frequent words: the reduce step. */
export function topWords(partials: Map<string, number>[]): [string, number][] {
  const totals = new Map<string, number>();
  for (const partial of partials) {
    for (const [word, count] of partial) totals.set(word, (totals.get(word) ?? 0) + count);
  }
  return [...totals].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 15);
}
