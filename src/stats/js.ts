import type { CategoryCounts, TDigest } from '../sketch/index.ts';
import { binShares, DEFAULT_BINS, referenceEdges } from './bins.ts';
import { categoryShares } from './shares.ts';
import { insufficient, statistic, type Statistic } from './result.ts';

/**
 * Jensen–Shannon distance, base 2 (Lin, "Divergence measures based on the Shannon entropy", 1991;
 * Endres & Schindelin 2003 for the square root being a metric):
 *   JSD(P‖Q) = ½ Σ pᵢ log₂(pᵢ/mᵢ) + ½ Σ qᵢ log₂(qᵢ/mᵢ),  m = (p + q)/2,   distance = √JSD ∈ [0, 1]
 * Empty bins need no floor: 0·log 0 = 0 and mᵢ > 0 wherever a term is non-zero.
 */
export function jsDistanceFromShares(p: readonly number[], q: readonly number[]): number {
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] ?? 0;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  }
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/** JS distance of two numeric distributions over the PSI bins (deciles of the reference). */
export function jsDistance(reference: TDigest, current: TDigest, bins = DEFAULT_BINS): Statistic {
  if (reference.count === 0 || current.count === 0) return insufficient(0);
  const edges = referenceEdges(reference, bins);
  return statistic(jsDistanceFromShares(binShares(reference, edges), binShares(current, edges)));
}

/** JS distance of two category distributions over the union of their categories (`__other__` included). */
export function jsDistanceCategorical(reference: CategoryCounts, current: CategoryCounts): Statistic {
  if (reference.total === 0 || current.total === 0) return insufficient(0);
  const { reference: p, current: q } = categoryShares(reference, current);
  return statistic(jsDistanceFromShares(p, q));
}
