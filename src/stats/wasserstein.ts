import { cdfLeft, cdfRight, type Moments, type TDigest } from '../sketch/index.ts';
import { insufficient, statistic, type Statistic } from './result.ts';

/**
 * Wasserstein-1 (earth mover's) distance between two digests:
 *   W₁ = ∫ |F_ref(x) − F_cur(x)| dx = ∫₀¹ |Q_ref(u) − Q_cur(u)| du
 * (Vallender 1974; Ramdas, García Trillos & Cuturi, "On Wasserstein two-sample testing", 2017).
 * Both CDFs are piecewise linear between knots, so between consecutive knot values of either digest
 * the difference is linear and its absolute value integrates in closed form: the integral is exact for
 * the sketched distributions, tails to min/max included, with no grid to tune.
 */
export function wasserstein1(reference: TDigest, current: TDigest): number {
  const a = reference.cdfKnots();
  const b = current.cdfKnots();
  const xs = Float64Array.from([...a.values, ...b.values]).sort();
  let total = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    const x0 = xs[i] as number;
    const x1 = xs[i + 1] as number;
    if (x1 === x0) continue;
    const d0 = cdfRight(a, x0) - cdfRight(b, x0);
    const d1 = cdfLeft(a, x1) - cdfLeft(b, x1);
    total += (x1 - x0) * meanAbsLinear(d0, d1);
  }
  return total;
}

/**
 * W₁ divided by the reference standard deviation: a shift in "reference sigmas", comparable across
 * features. A constant reference (σ = 0) is scaled by |mean| instead, or 1 when that is 0 too, so a
 * moved constant reads as a finite, large effect rather than Infinity. Insufficient (0) when either
 * side is empty.
 */
export function wasserstein(reference: TDigest, current: TDigest, referenceMoments: Moments): Statistic {
  if (reference.count === 0 || current.count === 0) return insufficient(0);
  const distance = wasserstein1(reference, current);
  const sigma = referenceMoments.count > 0 ? referenceMoments.std() : 0;
  const mean = referenceMoments.count > 0 ? Math.abs(referenceMoments.mean()) : 0;
  const scale = sigma > 0 ? sigma : mean > 0 ? mean : 1;
  return statistic(distance / scale);
}

/** Mean of |d| over an interval where d runs linearly from d0 to d1. */
function meanAbsLinear(d0: number, d1: number): number {
  if ((d0 >= 0 && d1 >= 0) || (d0 <= 0 && d1 <= 0)) return Math.abs(d0 + d1) / 2;
  // Sign change: two triangles.
  return (d0 * d0 + d1 * d1) / (2 * (Math.abs(d0) + Math.abs(d1)));
}
