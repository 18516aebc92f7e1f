import type { Moments, TDigest } from '../sketch/index.ts';
import { knotDistances, type KnotDistances } from './knot-walk.ts';
import { insufficient, statistic, type Statistic } from './result.ts';

/**
 * Wasserstein-1 (earth mover's) distance between two digests:
 *   W₁ = ∫ |F_ref(x) − F_cur(x)| dx = ∫₀¹ |Q_ref(u) − Q_cur(u)| du
 * (Vallender 1974; Ramdas, García Trillos & Cuturi, "On Wasserstein two-sample testing", 2017).
 * Both CDFs are piecewise linear between knots, so between consecutive knot values of either digest
 * the difference is linear and its absolute value integrates in closed form: the integral is exact for
 * the sketched distributions, tails to min/max included, with no grid to tune. One linear merge walk
 * over the two sorted knot sequences (knot-walk.ts) visits every such interval.
 */
const scratch: KnotDistances = { sup: 0, l1: 0, ad: 0 };

export function wasserstein1(reference: TDigest, current: TDigest): number {
  return knotDistances(reference.cdfKnots(), current.cdfKnots(), scratch).l1;
}

/**
 * W₁ divided by the reference standard deviation: a shift in "reference sigmas", comparable across
 * features. A constant reference (σ = 0) is scaled by |mean| instead, or 1 when that is 0 too, so a
 * moved constant reads as a finite, large effect rather than Infinity. Insufficient (0) when either
 * side is empty.
 */
export function wasserstein(reference: TDigest, current: TDigest, referenceMoments: Moments): Statistic {
  if (reference.count === 0 || current.count === 0) return insufficient(0);
  return statistic(wasserstein1(reference, current) / wassersteinScale(referenceMoments));
}

/** The divisor of `wasserstein`: σ_ref, else |mean_ref|, else 1. */
export function wassersteinScale(referenceMoments: Moments): number {
  const sigma = referenceMoments.count > 0 ? referenceMoments.std() : 0;
  const mean = referenceMoments.count > 0 ? Math.abs(referenceMoments.mean()) : 0;
  return sigma > 0 ? sigma : mean > 0 ? mean : 1;
}
