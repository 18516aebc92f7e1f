import type { TDigest } from '../sketch/index.ts';
import { binShares, DEFAULT_BINS, referenceEdges } from './bins.ts';
import { insufficient, statistic, type Statistic } from './result.ts';

/**
 * Empty-bin rule: every share is floored at 0.001 before the logarithm (no renormalisation).
 * Why 0.001 and not the 1e-4 often quoted: the digest's rank error is ~0.001, so a smaller floor would
 * only amplify sketch noise in nearly empty bins; a bin that empties completely still contributes
 * (0.1 − 0.001)·ln(0.1/0.001) ≈ 0.46, above the 0.2 "major shift" line on its own.
 */
export const PSI_FLOOR = 1e-3;

/**
 * Population Stability Index over 10 bins at reference quantiles (deciles):
 *   PSI = Σᵢ (cᵢ − rᵢ) · ln(cᵢ / rᵢ)
 * with rᵢ, cᵢ the reference and current shares of bin i (Siddiqi, "Credit Risk Scorecards", 2006;
 * Yurdakul, "Statistical Properties of Population Stability Index", 2018). Rules of thumb: < 0.1 stable,
 * 0.1–0.2 moderate, ≥ 0.2 major shift. Insufficient (0) when either digest is empty.
 */
export function psi(reference: TDigest, current: TDigest, bins = DEFAULT_BINS): Statistic {
  if (reference.count === 0 || current.count === 0) return insufficient(0);
  const edges = referenceEdges(reference, bins);
  return statistic(psiFromShares(binShares(reference, edges), binShares(current, edges)));
}

/** PSI of two share vectors of equal length (the formula above, with the PSI_FLOOR rule). */
export function psiFromShares(reference: readonly number[], current: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = Math.max(reference[i] as number, PSI_FLOOR);
    const c = Math.max(current[i] ?? 0, PSI_FLOOR);
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}
