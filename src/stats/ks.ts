import type { TDigest } from '../sketch/index.ts';
import { knotDistances, type KnotDistances } from './knot-walk.ts';

export interface KsResult {
  /** D = sup |F_ref − F_cur|. */
  readonly statistic: number;
  readonly pValue: number;
  /** n·m / (n + m). */
  readonly effectiveN: number;
  readonly insufficient: boolean;
}

const scratch: KnotDistances = { sup: 0, l1: 0, ad: 0 };

/**
 * Two-sample Kolmogorov–Smirnov statistic from digest CDFs: D = supₓ |F_ref(x) − F_cur(x)|.
 * Both CDFs are piecewise linear between their knots (see src/sketch/knots.ts), so the supremum is
 * reached at a knot of one of them, from the left or the right: evaluating both one-sided limits at
 * the union of knot values gives D of the sketched distributions exactly, ties included. Both limits at
 * every knot come from one linear merge walk over the two sorted knot sequences (knot-walk.ts).
 * p-value: Kolmogorov's asymptotic distribution at effective n = n·m/(n+m) with Stephens' correction
 * (see kolmogorovPValue). Insufficient (D 0, p 1) when either digest is empty.
 */
export function ks(reference: TDigest, current: TDigest): KsResult {
  const n = reference.count;
  const m = current.count;
  if (n === 0 || m === 0) return { statistic: 0, pValue: 1, effectiveN: 0, insufficient: true };
  const d = knotDistances(reference.cdfKnots(), current.cdfKnots(), scratch).sup;
  const effectiveN = (n * m) / (n + m);
  return { statistic: d, pValue: kolmogorovPValue(d, effectiveN), effectiveN, insufficient: false };
}

/**
 * P(D ≥ d) under H0 for the two-sample KS test: Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²} with
 * λ = (√nₑ + 0.12 + 0.11/√nₑ)·d (Stephens 1970; Press et al., Numerical Recipes 3rd ed., §14.3.3 and
 * §6.14.12). For λ < 1.18 the alternating series converges slowly, so the complementary form
 * 1 − (√(2π)/λ) Σ_{j≥1} e^{−(2j−1)²π²/(8λ²)} is used there.
 */
export function kolmogorovPValue(d: number, effectiveN: number): number {
  if (!(d > 0) || !(effectiveN > 0)) return 1;
  const root = Math.sqrt(effectiveN);
  const lambda = (root + 0.12 + 0.11 / root) * d;
  if (lambda < 0.042) return 1;
  if (lambda < 1.18) {
    const y = Math.exp(-(Math.PI * Math.PI) / (8 * lambda * lambda));
    const cdf = (Math.sqrt(2 * Math.PI) / lambda) * (y + y ** 9 + y ** 25 + y ** 49);
    return clamp01(1 - cdf);
  }
  const x = Math.exp(-2 * lambda * lambda);
  return clamp01(2 * (x - x ** 4 + x ** 9));
}

function clamp01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}
