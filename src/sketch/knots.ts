/**
 * The distribution a digest stands for, as a piecewise-linear CDF: knots (value, rank fraction) that
 * never decrease in either coordinate. A run of equal values is a vertical step (two knots, same value);
 * a gap between values is a horizontal one. `quantile` and `cdf` interpolate between knots, and the
 * distance statistics in src/stats integrate the same functions, so every number agrees with one model.
 */
export interface CdfKnots {
  readonly values: Float64Array;
  readonly ranks: Float64Array;
}

/** F(x-): the share of mass strictly below x under the knot model. */
export function cdfLeft(knots: CdfKnots, x: number): number {
  const { values, ranks } = knots;
  const n = values.length;
  if (n === 0 || x <= (values[0] as number)) return 0;
  if (x > (values[n - 1] as number)) return 1;
  // First knot with value >= x.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  const v1 = values[lo] as number;
  if (v1 === x) return ranks[lo] as number;
  return interpolate(values[lo - 1] as number, ranks[lo - 1] as number, v1, ranks[lo] as number, x);
}

/** F(x): the share of mass at or below x under the knot model. */
export function cdfRight(knots: CdfKnots, x: number): number {
  const { values, ranks } = knots;
  const n = values.length;
  if (n === 0 || x < (values[0] as number)) return 0;
  if (x >= (values[n - 1] as number)) return 1;
  // Last knot with value <= x.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((values[mid] as number) <= x) lo = mid;
    else hi = mid - 1;
  }
  const v0 = values[lo] as number;
  if (v0 === x) return ranks[lo] as number;
  return interpolate(v0, ranks[lo] as number, values[lo + 1] as number, ranks[lo + 1] as number, x);
}

/** Inverse of the knot CDF: the smallest value whose rank reaches q. */
export function knotQuantile(knots: CdfKnots, q: number): number {
  const { values, ranks } = knots;
  const n = values.length;
  if (n === 0) return Number.NaN;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ranks[mid] as number) < q) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return values[0] as number;
  const r0 = ranks[lo - 1] as number;
  const r1 = ranks[lo] as number;
  const v0 = values[lo - 1] as number;
  const v1 = values[lo] as number;
  const value = v0 + ((q - r0) / (r1 - r0)) * (v1 - v0);
  return value < v0 ? v0 : value > v1 ? v1 : value;
}

function interpolate(v0: number, r0: number, v1: number, r1: number, x: number): number {
  const rank = r0 + ((x - v0) / (v1 - v0)) * (r1 - r0);
  return rank < r0 ? r0 : rank > r1 ? r1 : rank;
}
