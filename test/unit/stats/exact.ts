import { PSI_FLOOR } from '../../../src/stats/index.ts';
import { ExactRanks } from '../sketch/distributions.ts';

/**
 * Drift statistics computed exactly from raw samples, the truth the sketch-based ones are held to.
 * Same definitions as src/stats: bins (−∞, e1], …, (e9, ∞) at the reference deciles (the smallest
 * value reaching each decile), duplicate edges dropped; right-continuous empirical CDFs.
 */
export function exactEdges(reference: ExactRanks, bins = 10): number[] {
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = reference.quantile(i / bins);
    if (edges.length === 0 || edge > (edges[edges.length - 1] as number)) edges.push(edge);
  }
  return edges;
}

export function exactShares(sample: ExactRanks, edges: readonly number[]): number[] {
  const shares: number[] = [];
  let previous = 0;
  for (const edge of edges) {
    const atOrBelow = sample.atOrBelow(edge);
    shares.push(atOrBelow - previous);
    previous = atOrBelow;
  }
  shares.push(1 - previous);
  return shares;
}

export function exactPsi(reference: ExactRanks, current: ExactRanks): number {
  const edges = exactEdges(reference);
  const r = exactShares(reference, edges);
  const c = exactShares(current, edges);
  let sum = 0;
  r.forEach((share, i) => {
    const a = Math.max(share, PSI_FLOOR);
    const b = Math.max(c[i] as number, PSI_FLOOR);
    sum += (b - a) * Math.log(b / a);
  });
  return sum;
}

export function exactJs(reference: ExactRanks, current: ExactRanks): number {
  const edges = exactEdges(reference);
  const p = exactShares(reference, edges);
  const q = exactShares(current, edges);
  let divergence = 0;
  p.forEach((a, i) => {
    const b = q[i] as number;
    const m = (a + b) / 2;
    if (a > 0) divergence += 0.5 * a * Math.log2(a / m);
    if (b > 0) divergence += 0.5 * b * Math.log2(b / m);
  });
  return Math.sqrt(Math.max(0, divergence));
}

/** Distinct values of both samples, ascending. */
function union(a: ExactRanks, b: ExactRanks): number[] {
  const all = Float64Array.from([...a.sorted, ...b.sorted]).sort();
  const out: number[] = [];
  for (const x of all) if (out.length === 0 || x !== out[out.length - 1]) out.push(x);
  return out;
}

export function exactKs(reference: ExactRanks, current: ExactRanks): number {
  let d = 0;
  for (const x of union(reference, current)) d = Math.max(d, Math.abs(reference.atOrBelow(x) - current.atOrBelow(x)));
  return d;
}

export function exactWasserstein1(reference: ExactRanks, current: ExactRanks): number {
  const xs = union(reference, current);
  let total = 0;
  for (let i = 0; i + 1 < xs.length; i++) {
    const x = xs[i] as number;
    total += Math.abs(reference.atOrBelow(x) - current.atOrBelow(x)) * ((xs[i + 1] as number) - x);
  }
  return total;
}

export function exactStd(values: Float64Array): number {
  const shift = values[0] ?? 0;
  let sum = 0;
  for (const x of values) sum += x - shift;
  const mean = sum / values.length;
  let squares = 0;
  for (const x of values) squares += (x - shift - mean) ** 2;
  return Math.sqrt(squares / values.length);
}
