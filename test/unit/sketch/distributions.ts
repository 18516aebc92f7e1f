import { createRandom } from '../../../src/random.ts';

/** Seeded test distributions: the shapes a monitored feature takes, from smooth to tied to wild. */
export const DISTRIBUTIONS = {
  normal: (r: Rng) => r.normal(),
  lognormal: (r: Rng) => Math.exp(r.normal()),
  uniform: (r: Rng) => r.next(),
  bimodal: (r: Rng) => (r.next() < 0.5 ? r.normal() : 4 + r.normal()),
  cauchy: (r: Rng) => Math.tan(Math.PI * (r.next() - 0.5)),
  pareto: (r: Rng) => 1 / Math.pow(1 - r.next(), 1 / 1.5),
  poisson: (r: Rng) => poisson(r, 4),
  'zero-inflated': (r: Rng) => (r.next() < 0.4 ? 0 : -Math.log(1 - r.next())),
  rounded: (r: Rng) => Math.round(r.normal() * 10) / 10,
} as const satisfies Record<string, (r: Rng) => number>;

/**
 * Two modes with an empty gap between them (6σ apart): the one case measured outside the 0.002 bar.
 * The centroid that straddles the gap spans ~0.013 of rank at the default compression and linear
 * interpolation cannot know the gap is empty, so errors reach about half that width (~0.007).
 */
export const gapped = (r: Rng) => (r.next() < 0.5 ? -3 + r.normal() : 3 + 0.5 * r.normal());

export type DistributionName = keyof typeof DISTRIBUTIONS;
export const DISTRIBUTION_NAMES = Object.keys(DISTRIBUTIONS) as DistributionName[];

type Rng = ReturnType<typeof createRandom>;

export function sample(name: DistributionName | ((r: Rng) => number), n: number, seed: number, shift = 0, scale = 1): Float64Array {
  const r = createRandom(seed);
  const draw = typeof name === 'function' ? name : DISTRIBUTIONS[name];
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = shift + scale * draw(r);
  return out;
}

function poisson(r: Rng, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = r.next();
  while (p > limit) {
    k++;
    p *= r.next();
  }
  return k;
}

/** Exact order statistics of a sample: the truth the digest is measured against. */
export class ExactRanks {
  readonly sorted: Float64Array;
  constructor(values: Float64Array) {
    this.sorted = Float64Array.from(values).sort();
  }
  /** Share of values < x. */
  below(x: number): number {
    return lowerBound(this.sorted, x) / this.sorted.length;
  }
  /** Share of values <= x. */
  atOrBelow(x: number): number {
    return upperBound(this.sorted, x) / this.sorted.length;
  }
  /** Smallest value whose share at-or-below reaches q. */
  quantile(q: number): number {
    const n = this.sorted.length;
    return this.sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number;
  }
  /** Distance from q to the rank interval [F(x-), F(x)] of an estimated q-quantile x. */
  quantileRankError(q: number, estimate: number): number {
    return Math.max(0, this.below(estimate) - q, q - this.atOrBelow(estimate));
  }
  /** Distance from an estimated cdf(x) to the exact rank interval of x. */
  cdfError(x: number, estimate: number): number {
    return Math.max(0, this.below(x) - estimate, estimate - this.atOrBelow(x));
  }
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
