// Binary search over ascending lists, shared by the Python trees' type index and the repository's
// word index (language-neutral: it imports nothing).

/** The first k with list[k] >= at (list ascending). */
export function lowerBound(list: ArrayLike<number>, at: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
