import type { CdfKnots } from '../sketch/index.ts';

/**
 * KS and Wasserstein-1 distances between two knot CDFs (src/sketch/knots.ts) in one linear merge walk
 * over both sorted knot sequences: no binary search, no allocation.
 *
 * At each distinct knot value x of either side, in ascending order, both one-sided limits F(x−) and F(x)
 * of each CDF are read off directly: a side that has knots at x gives the rank of its first knot at x
 * (F(x−)) and of its last one (F(x)), with 0 at its first knot and 1 at its last as cdfLeft/cdfRight do;
 * a side without a knot at x is continuous there and interpolates its enclosing segment once (0 before
 * its first knot, 1 after its last). These are the very numbers cdfLeft/cdfRight return, so
 *   sup = max over x of |F_a(x−) − F_b(x−)| and |F_a(x) − F_b(x)|  (the KS statistic D), and
 *   l1  = Σ over consecutive x₀ < x₁ of (x₁ − x₀)·mean|d| with d linear from F_a(x₀) − F_b(x₀) to
 *         F_a(x₁−) − F_b(x₁−)  (W₁ = ∫|F_a − F_b|dx, exact for piecewise-linear CDFs)
 * are the same sums, in the same order, as evaluating cdfLeft/cdfRight at the sorted union of knots.
 */
export interface KnotDistances {
  sup: number;
  l1: number;
}

/** Writes sup |F_a − F_b| and ∫|F_a − F_b|dx into `out` and returns it. An empty side is F ≡ 0. */
export function knotDistances(a: CdfKnots, b: CdfKnots, out: KnotDistances): KnotDistances {
  const av = a.values;
  const ar = a.ranks;
  const bv = b.values;
  const br = b.ranks;
  const na = av.length;
  const nb = bv.length;
  // Invariant: every knot before i (j) has a value below the current x.
  let i = 0;
  let j = 0;
  let sup = 0;
  let l1 = 0;
  let previousX = 0;
  let previousD = 0;
  let first = true;
  while (i < na || j < nb) {
    let x: number;
    if (i >= na) x = bv[j] as number;
    else if (j >= nb) x = av[i] as number;
    else {
      const xa = av[i] as number;
      const xb = bv[j] as number;
      x = xa <= xb ? xa : xb;
    }

    let aLeft: number;
    let aRight: number;
    if (i < na && av[i] === x) {
      aLeft = i === 0 ? 0 : (ar[i] as number);
      let k = i + 1;
      while (k < na && av[k] === x) k++;
      aRight = k === na ? 1 : (ar[k - 1] as number);
      i = k;
    } else {
      aLeft = i === 0 ? 0 : i === na ? 1 : interpolate(av[i - 1] as number, ar[i - 1] as number, av[i] as number, ar[i] as number, x);
      aRight = aLeft;
    }

    let bLeft: number;
    let bRight: number;
    if (j < nb && bv[j] === x) {
      bLeft = j === 0 ? 0 : (br[j] as number);
      let k = j + 1;
      while (k < nb && bv[k] === x) k++;
      bRight = k === nb ? 1 : (br[k - 1] as number);
      j = k;
    } else {
      bLeft = j === 0 ? 0 : j === nb ? 1 : interpolate(bv[j - 1] as number, br[j - 1] as number, bv[j] as number, br[j] as number, x);
      bRight = bLeft;
    }

    const dLeft = aLeft - bLeft;
    const dRight = aRight - bRight;
    const absLeft = dLeft < 0 ? -dLeft : dLeft;
    const absRight = dRight < 0 ? -dRight : dRight;
    if (absLeft > sup) sup = absLeft;
    if (absRight > sup) sup = absRight;
    if (!first) l1 += (x - previousX) * meanAbsLinear(previousD, dLeft);
    first = false;
    previousX = x;
    previousD = dRight;
  }
  out.sup = sup;
  out.l1 = l1;
  return out;
}

/** Same as cdfLeft/cdfRight between two knots (src/sketch/knots.ts). */
function interpolate(v0: number, r0: number, v1: number, r1: number, x: number): number {
  const rank = r0 + ((x - v0) / (v1 - v0)) * (r1 - r0);
  return rank < r0 ? r0 : rank > r1 ? r1 : rank;
}

/** Mean of |d| over an interval where d runs linearly from d0 to d1. */
export function meanAbsLinear(d0: number, d1: number): number {
  if ((d0 >= 0 && d1 >= 0) || (d0 <= 0 && d1 <= 0)) return Math.abs(d0 + d1) / 2;
  // Sign change: two triangles.
  return (d0 * d0 + d1 * d1) / (2 * (Math.abs(d0) + Math.abs(d1)));
}
