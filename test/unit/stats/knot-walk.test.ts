import { describe, expect, it } from 'vitest';
import { cdfLeft, cdfRight, Moments, TDigest } from '../../../src/sketch/index.ts';
import { andersonDarling, bandChange, jsDistance, ks, numericDrift, outOfRangeRate, psi, shapeChange, wasserstein, wasserstein1 } from '../../../src/stats/index.ts';
import { DISTRIBUTION_NAMES, gapped, sample } from '../sketch/distributions.ts';

/** The previous KS statistic: both one-sided limits by binary search at every knot of either digest. */
function referenceKs(reference: TDigest, current: TDigest): number {
  const a = reference.cdfKnots();
  const b = current.cdfKnots();
  let d = 0;
  for (const knots of [a, b]) {
    for (const x of knots.values) {
      d = Math.max(d, Math.abs(cdfLeft(a, x) - cdfLeft(b, x)), Math.abs(cdfRight(a, x) - cdfRight(b, x)));
    }
  }
  return d;
}

/** The previous W₁: sort the union of knot values, binary-search both CDFs at each interval's ends. */
function referenceWasserstein1(reference: TDigest, current: TDigest): number {
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

function meanAbsLinear(d0: number, d1: number): number {
  if ((d0 >= 0 && d1 >= 0) || (d0 <= 0 && d1 <= 0)) return Math.abs(d0 + d1) / 2;
  return (d0 * d0 + d1 * d1) / (2 * (Math.abs(d0) + Math.abs(d1)));
}

function sketch(values: ArrayLike<number>): { digest: TDigest; moments: Moments } {
  const digest = new TDigest();
  const moments = new Moments();
  for (let i = 0; i < values.length; i++) {
    digest.add(values[i] as number);
    moments.add(values[i] as number);
  }
  return { digest, moments };
}

const TOLERANCE = 1e-9;

function expectSame(reference: TDigest, current: TDigest, where: string): void {
  const expectedKs = referenceKs(reference, current);
  const expectedW = referenceWasserstein1(reference, current);
  expect(Math.abs(ks(reference, current).statistic - expectedKs), `ks ${where}`).toBeLessThanOrEqual(TOLERANCE);
  expect(Math.abs(wasserstein1(reference, current) - expectedW), `w1 ${where}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, expectedW));
  // Symmetric in its arguments, as the definitions are.
  expect(Math.abs(ks(current, reference).statistic - expectedKs), `ks swapped ${where}`).toBeLessThanOrEqual(TOLERANCE);
  expect(Math.abs(wasserstein1(current, reference) - expectedW), `w1 swapped ${where}`).toBeLessThanOrEqual(TOLERANCE * Math.max(1, expectedW));
}

describe('merge-walk KS and W₁ equal the previous binary-search implementation', () => {
  const N = 20_000;
  const shapes = [...DISTRIBUTION_NAMES, gapped] as const;
  for (const name of shapes) {
    const label = typeof name === 'string' ? name : 'gapped';
    it(label, () => {
      const refValues = sample(name, N, 100);
      const ref = sketch(refValues).digest;
      const cases: Array<[string, Float64Array]> = [
        ['same distribution', sample(name, N, 200)],
        ['shift 0.1', sample(name, N, 201, 0.1)],
        ['shift 1', sample(name, N, 202, 1)],
        ['scaled 1.5', sample(name, N, 203, 0, 1.5)],
        ['moved far away', sample(name, N, 204, 1000)],
        ['small delta', sample(name, 7, 205)],
        ['identical values', refValues],
      ];
      for (const [what, curValues] of cases) {
        const cur = sketch(curValues).digest;
        expectSame(ref, cur, `${label}, ${what}`);
        // Decoded digests (knots rebuilt from the bytes) give the same numbers.
        expectSame(TDigest.decode(ref.encode()), TDigest.decode(cur.encode()), `${label}, ${what}, decoded`);
      }
    });
  }

  it('edge cases: one value, constants, ties, disjoint and interleaved supports, empty sides', () => {
    const cases: Array<[number[], number[]]> = [
      [[5], [5]],
      [[5], [7]],
      [[0, 0, 0], [0, 0, 1]],
      [Array(1000).fill(3) as number[], Array(500).fill(4) as number[]],
      [[1, 2, 3], [1, 2, 3]],
      [[1, 2, 3], [4, 5, 6]],
      [[1, 3, 5], [2, 4, 6]],
      [[-0, 0, 1], [0, -0, 2]],
      [[1, 1, 2, 2, 3], [2, 2, 2]],
      [Array.from({ length: 5000 }, (_, i) => i % 7), Array.from({ length: 3000 }, (_, i) => (i % 5) + 0.5)],
    ];
    for (const [a, b] of cases) expectSame(sketch(a).digest, sketch(b).digest, `${JSON.stringify(a.slice(0, 5))} vs ${JSON.stringify(b.slice(0, 5))}`);
    // An empty side is F ≡ 0 for wasserstein1 (ks/wasserstein report it as insufficient).
    const empty = new TDigest();
    const some = sketch([1, 2, 3]).digest;
    expect(wasserstein1(empty, some)).toBe(referenceWasserstein1(empty, some));
    expect(wasserstein1(empty, empty)).toBe(0);
  });
});

describe('numericDrift equals the statistics computed one by one', () => {
  for (const name of DISTRIBUTION_NAMES) {
    it(name, () => {
      const ref = sketch(sample(name, 10_000, 1));
      for (const [shift, scale] of [[0, 1], [0.3, 1], [0, 2], [50, 1]] as const) {
        const cur = sketch(sample(name, 5_000, 2, shift, scale));
        const ksResult = ks(ref.digest, cur.digest);
        const adResult = andersonDarling(ref.digest, cur.digest);
        expect(numericDrift(ref, cur)).toEqual({
          psi: psi(ref.digest, cur.digest).value,
          ks: ksResult.statistic,
          ks_p: ksResult.pValue,
          js: jsDistance(ref.digest, cur.digest).value,
          wasserstein: wasserstein(ref.digest, cur.digest, ref.moments).value,
          ad: adResult.statistic,
          ad_p: adResult.pValue,
          shape: shapeChange(ref.digest, cur.digest).value,
          band_change: bandChange(ref.digest, cur.digest).value,
          out_of_range: outOfRangeRate(ref.digest, cur.digest).value,
          count_ref: ref.digest.count,
          count_cur: cur.digest.count,
          insufficient: false,
        });
      }
    });
  }
});

describe('cdfKnots', () => {
  it('is cached: the same object until the digest changes', () => {
    const digest = sketch(sample('normal', 1000, 3)).digest;
    const knots = digest.cdfKnots();
    expect(digest.cdfKnots()).toBe(knots);
    digest.add(0.5);
    expect(digest.cdfKnots()).not.toBe(knots);
    const decoded = TDigest.decode(digest.encode());
    expect(decoded.cdfKnots()).toBe(decoded.cdfKnots());
    expect(Array.from(decoded.cdfKnots().values)).toEqual(Array.from(digest.cdfKnots().values));
    expect(Array.from(decoded.cdfKnots().ranks)).toEqual(Array.from(digest.cdfKnots().ranks));
  });
});
