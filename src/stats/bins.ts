import { cdfRight, type TDigest } from '../sketch/index.ts';

export const DEFAULT_BINS = 10;

/**
 * Interior bin edges at the reference quantiles i/bins (i = 1..bins−1), duplicates dropped: a value
 * repeated across several deciles (a discrete or zero-inflated reference) makes one bin, not empty ones.
 * Bins are (−∞, e1], (e1, e2], …, (e_last, ∞), so current values outside the reference range still land
 * in the outer bins.
 */
export function referenceEdges(reference: TDigest, bins = DEFAULT_BINS): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = reference.quantile(i / bins);
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  return edges;
}

/** Share of a digest's mass in each bin, from its CDF at the edges (values equal to an edge go left). */
export function binShares(digest: TDigest, edges: readonly number[]): number[] {
  const knots = digest.cdfKnots();
  const shares: number[] = [];
  let previous = 0;
  for (const edge of edges) {
    const atOrBelow = cdfRight(knots, edge);
    shares.push(Math.max(0, atOrBelow - previous));
    previous = Math.max(previous, atOrBelow);
  }
  shares.push(Math.max(0, 1 - previous));
  return shares;
}
