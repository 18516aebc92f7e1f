import type { TDigest } from '../sketch/index.ts';
import { knotDistances, type KnotDistances } from './knot-walk.ts';
import { erfc } from './normal.ts';

export interface AndersonDarlingResult {
  /** A² = n·m/(n + m) · ∫ (F_ref − F_cur)² / (H(1 − H)) dH, H the pooled CDF. */
  readonly statistic: number;
  readonly pValue: number;
  readonly insufficient: boolean;
}

const scratch: KnotDistances = { sup: 0, l1: 0, ad: 0 };

/**
 * Two-sample Anderson–Darling test from digest CDFs (Pettitt 1976; Scholz & Stephens 1987): like KS a
 * rank test, so its null distribution does not depend on the data's (heavy tails, skew), but it weighs
 * the difference by 1/(H(1 − H)) over the whole range instead of taking one point, which makes it far
 * more sensitive to a change of spread or of the tails: for N(0, 1) against N(0, 1.5²) the functional
 * is 0.054 (A² ≈ 52 at 1,000 against 20,000 values, p ≈ 1e-23) while KS stays at 0.097. The integral is
 * taken along the same knot walk as KS and W₁ (knot-walk.ts). Insufficient (A² 0, p 1) when either
 * digest is empty.
 */
export function andersonDarling(reference: TDigest, current: TDigest): AndersonDarlingResult {
  const n = reference.count;
  const m = current.count;
  if (n === 0 || m === 0) return { statistic: 0, pValue: 1, insufficient: true };
  const { ad } = knotDistances(reference.cdfKnots(), current.cdfKnots(), scratch, n / (n + m));
  const statistic = ((n * m) / (n + m)) * ad;
  return { statistic, pValue: andersonDarlingPValue(statistic), insufficient: false };
}

/**
 * P(A² ≥ z) under H0, from the limiting distribution of A² (the same for one and two samples, Pettitt
 * 1976): A² = Σⱼ Zⱼ² / (j(j + 1)).
 * - Below z = 7 (p > 3.3e-4): Marsaglia & Marsaglia's fit of its CDF ("Evaluating the Anderson-Darling
 *   distribution", J. Stat. Softw. 9(2), 2004), accurate to a few 1e-6.
 * - From z = 7 on, where that fit's polynomial exponent runs away (it reads 5e-34 at z = 16.5), the tail
 *   of the weighted χ² sum, led by its largest weight ½: P(A² > z) ≈ E[e^R]·erfc(√z)·(1 + E[R e^R]/(2z E[e^R]))
 *   with R the other terms, E[e^R] = Πⱼ≥₂ (1 − 2/(j(j+1)))^(−½) = √3 and E[R e^R]/E[e^R] = Σⱼ≥₂ 1/((j−1)(j+2)) = 11/18.
 *   At z = 7 it gives 3.305e-4 against Marsaglia's 3.311e-4; at z = 3.857 (the 1 % point) 0.0099.
 * Finite samples: at 500 values or more against a larger reference the limit is what we use (Scholz &
 * Stephens' tables differ from it by < 2 % in the range they cover).
 */
export function andersonDarlingPValue(z: number): number {
  if (!(z > 0)) return 1;
  if (z < 7) return Math.min(1, Math.max(0, 1 - marsagliaCdf(z)));
  return Math.sqrt(3) * erfc(Math.sqrt(z)) * (1 + 11 / (36 * z));
}

/** Marsaglia & Marsaglia (2004), adinf(z): the limiting CDF of A², for z < 7 here. */
function marsagliaCdf(z: number): number {
  if (z < 2) {
    return (Math.exp(-1.2337141 / z) / Math.sqrt(z)) * (2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z);
  }
  return Math.exp(-Math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z) * z) * z));
}
