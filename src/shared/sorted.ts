/**
 * Binary searches over ascending numbers (arrays or typed arrays), looking at the first `end`
 * entries (all of them by default).
 */

/** How many of the entries are below x: the index of the first entry >= x. */
export function countBelow(sorted: ArrayLike<number>, x: number, end = sorted.length): number {
  let lo = 0, hi = end;
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (sorted[mid]! < x) lo = mid + 1; else hi = mid; }
  return lo;
}

/** How many of the entries are at or below x: the index of the first entry > x. */
export function countAtOrBelow(sorted: ArrayLike<number>, x: number, end = sorted.length): number {
  let lo = 0, hi = end;
  while (lo < hi) { const mid = (lo + hi) >>> 1; if (sorted[mid]! <= x) lo = mid + 1; else hi = mid; }
  return lo;
}
