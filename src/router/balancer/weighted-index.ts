/**
 * The index whose weight range holds `x` (0 ≤ x < the last prefix sum), by binary search over prefix
 * sums of weights: a weighted random choice when `x` is random × the total. No allocation.
 */
export function weightedIndex(cumulative: Float64Array, x: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
