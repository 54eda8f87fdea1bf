/**
 * `(from) => s.indexOf(needle, from)`, remembering its last answer: a scan that asks again from
 * further on (each `<!--` for its `-->`, each `](<` for its `>`, each unclosed XML tag for its
 * closing one) reads the text once in all, where a search from each place read the rest of the
 * text each time (quadratic when the needle is missing). Any `from` is answered right; only asking
 * from further on is cheap.
 */
export function nextOf(s: string, needle: string): (from: number) => number {
  let searchedFrom = Infinity;
  let found = -1;
  return (from) => {
    if (from >= searchedFrom && (found < 0 || found >= from)) return found;
    searchedFrom = from;
    found = s.indexOf(needle, from);
    return found;
  };
}
