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

/**
 * Two-sample Anderson–Darling A² from raw samples, Scholz & Stephens' (1987) version for ties, A²_akN
 * (midranks; equal to the continuous formula when there are no ties):
 *   A² = (N − 1)/N² · Σᵢ (1/nᵢ) Σⱼ lⱼ (N·Mᵢⱼ − nᵢ·Bⱼ)² / (Bⱼ(N − Bⱼ) − N·lⱼ/4)
 * over the distinct values j, lⱼ their multiplicity, Bⱼ and Mᵢⱼ the pooled and per-sample counts below
 * plus half those at the value.
 */
export function exactAndersonDarling(reference: ExactRanks, current: ExactRanks): number {
  const samples = [reference.sorted, current.sorted];
  const n = samples.map((s) => s.length);
  const N = (n[0] as number) + (n[1] as number);
  const values = union(reference, current);
  let total = 0;
  let below = 0;
  const belowIn = [0, 0];
  for (const x of values) {
    const at = samples.map((s) => upperCount(s, x) - lowerCount(s, x));
    const l = (at[0] as number) + (at[1] as number);
    const b = below + l / 2;
    const denominator = b * (N - b) - (N * l) / 4;
    if (denominator > 0) {
      for (let i = 0; i < 2; i++) {
        const m = (belowIn[i] as number) + (at[i] as number) / 2;
        total += (l * (N * m - (n[i] as number) * b) ** 2) / ((n[i] as number) * denominator);
      }
    }
    below += l;
    belowIn[0] = (belowIn[0] as number) + (at[0] as number);
    belowIn[1] = (belowIn[1] as number) + (at[1] as number);
  }
  return ((N - 1) / (N * N)) * total;
}

function lowerCount(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperCount(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** E|X − median| of a sample, with the median as ExactRanks defines it. */
export function exactMeanAbsoluteDeviation(sample: ExactRanks): number {
  const median = sample.quantile(0.5);
  let total = 0;
  for (const x of sample.sorted) total += Math.abs(x - median);
  return total / sample.sorted.length;
}

/** The shape change of src/stats/shape.ts from raw samples: W₁ after aligning medians, over E_ref|X − median|. */
export function exactShapeChange(reference: ExactRanks, current: ExactRanks): number {
  const offset = current.quantile(0.5) - reference.quantile(0.5);
  const moved = new ExactRanks(current.sorted.map((x) => x - offset));
  return exactWasserstein1(reference, moved) / exactMeanAbsoluteDeviation(reference);
}
