import { describe, expect, it } from 'vitest';
import { Moments, TDigest } from '../../../src/sketch/index.ts';
import { jsDistance, ks, kolmogorovPValue, numericDrift, outOfRangeRate, psi, wasserstein } from '../../../src/stats/index.ts';
import { DISTRIBUTION_NAMES, ExactRanks, sample } from '../sketch/distributions.ts';
import { exactJs, exactKs, exactPsi, exactStd, exactWasserstein1 } from './exact.ts';

const N = 20_000;

function sketch(values: Float64Array): { digest: TDigest; moments: Moments } {
  const digest = new TDigest();
  const moments = new Moments();
  for (const x of values) {
    digest.add(x);
    moments.add(x);
  }
  return { digest, moments };
}

describe('numeric drift statistics from sketches agree with exact ones from the raw samples', () => {
  for (const name of DISTRIBUTION_NAMES) {
    it(name, () => {
      const refValues = sample(name, N, 100);
      const ref = sketch(refValues);
      const exactRef = new ExactRanks(refValues);
      const iqr = exactRef.quantile(0.75) - exactRef.quantile(0.25) || 1;
      const cases: Array<[string, Float64Array]> = [
        ['same distribution', sample(name, N, 200)],
        ['shift 0.1 IQR', sample(name, N, 201, 0.1 * iqr)],
        ['shift 1 IQR', sample(name, N, 202, iqr)],
        ['scaled 1.5', sample(name, N, 203, 0, 1.5)],
        ['moved far away', sample(name, N, 204, 100 * iqr)],
      ];
      const sigma = exactStd(refValues);
      for (const [label, curValues] of cases) {
        const cur = sketch(curValues);
        const exactCur = new ExactRanks(curValues);
        const expected = {
          psi: exactPsi(exactRef, exactCur),
          ks: exactKs(exactRef, exactCur),
          js: exactJs(exactRef, exactCur),
          wasserstein: exactWasserstein1(exactRef, exactCur) / sigma,
        };
        const got = {
          psi: psi(ref.digest, cur.digest).value,
          ks: ks(ref.digest, cur.digest).statistic,
          js: jsDistance(ref.digest, cur.digest).value,
          wasserstein: wasserstein(ref.digest, cur.digest, ref.moments).value,
        };
        const where = `${name}, ${label}: ${JSON.stringify({ expected, got })}`;
        expect(Math.abs(got.psi - expected.psi), where).toBeLessThanOrEqual(Math.max(0.01, 0.05 * expected.psi));
        expect(Math.abs(got.ks - expected.ks), where).toBeLessThanOrEqual(0.01);
        expect(Math.abs(got.js - expected.js), where).toBeLessThanOrEqual(0.01);
        // Cauchy has no mean: W₁ there is dominated by a handful of points past |x| > 1000 (0.03% of the
        // mass) that a digest knows only through min/max and interpolation. Measured 0.011; bound 0.02.
        expect(Math.abs(got.wasserstein - expected.wasserstein), where).toBeLessThanOrEqual(name === 'cauchy' ? 0.02 : 0.01);
      }
    });
  }
});

describe('numeric edge cases', () => {
  const of = (values: number[]) => sketch(Float64Array.from(values));

  it('empty inputs are insufficient with neutral values, never NaN', () => {
    const empty = of([]);
    const some = of([1, 2, 3]);
    for (const [a, b] of [[empty, some], [some, empty], [empty, empty]] as const) {
      const drift = numericDrift(a, b);
      expect(drift.insufficient).toBe(true);
      expect(drift).toMatchObject({ psi: 0, ks: 0, ks_p: 1, js: 0, wasserstein: 0, out_of_range: 0 });
    }
  });

  it('all-missing columns are empty sketches: insufficient', () => {
    const missing = of([]);
    missing.moments.addMissing(50);
    expect(numericDrift(missing, of([1])).insufficient).toBe(true);
  });

  it('one value against one value', () => {
    const same = numericDrift(of([5]), of([5]));
    expect(same).toMatchObject({ psi: 0, ks: 0, js: 0, wasserstein: 0, insufficient: false });
    const apart = numericDrift(of([5]), of([7]));
    expect(apart.ks).toBe(1);
    expect(apart.js).toBeCloseTo(1, 12);
    expect(apart.wasserstein).toBeCloseTo(2 / 5, 12); // σ = 0: scaled by |mean|
    expect(Number.isFinite(apart.psi)).toBe(true);
  });

  it('constant columns: equal constants do not drift, different ones fully do', () => {
    const a = of(Array.from({ length: 1000 }, () => 3));
    const b = of(Array.from({ length: 500 }, () => 3));
    const c = of(Array.from({ length: 500 }, () => 4));
    expect(numericDrift(a, b)).toMatchObject({ psi: 0, ks: 0, js: 0, wasserstein: 0 });
    const moved = numericDrift(a, c);
    expect(moved.ks).toBe(1);
    expect(moved.ks_p).toBeLessThan(1e-10);
    expect(moved.out_of_range).toBe(1);
    expect(moved.psi).toBeGreaterThan(1);
    const zeros = numericDrift(of([0, 0, 0]), of([0, 0, 1]));
    expect(zeros.wasserstein).toBeCloseTo(1 / 3, 12); // σ = 0 and mean 0: unscaled
  });

  it('huge magnitudes and negative values: shift-invariant', () => {
    const base = sample('normal', 5000, 1);
    const moved = sample('normal', 5000, 2, 0.5);
    const small = numericDrift(sketch(base), sketch(moved));
    const huge = numericDrift(sketch(base.map((x) => -1e15 + 1e3 * x)), sketch(moved.map((x) => -1e15 + 1e3 * x)));
    for (const key of ['psi', 'ks', 'js', 'wasserstein'] as const) expect(Math.abs(huge[key] - small[key]), key).toBeLessThan(0.01);
  });

  it('out-of-range rate counts current values outside the reference [min, max]', () => {
    const ref = of([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const cur = of([-5, -1, 3, 4, 5, 6, 7, 8, 11, 12]);
    expect(outOfRangeRate(ref.digest, cur.digest).value).toBeCloseTo(0.4, 12);
  });
});

describe('Kolmogorov p-value', () => {
  it('matches the classic critical values at large n', () => {
    const n = 1e8; // Stephens' correction vanishes
    expect(kolmogorovPValue(1.3581 / Math.sqrt(n), n)).toBeCloseTo(0.05, 3);
    expect(kolmogorovPValue(1.6276 / Math.sqrt(n), n)).toBeCloseTo(0.01, 3);
    expect(kolmogorovPValue(1.2239 / Math.sqrt(n), n)).toBeCloseTo(0.1, 3);
    expect(kolmogorovPValue(0.5 / Math.sqrt(n), n)).toBeCloseTo(0.9639, 3);
    expect(kolmogorovPValue(0, 100)).toBe(1);
    expect(kolmogorovPValue(1, 1000)).toBe(0);
  });

  it('is continuous across the switch between series (λ = 1.18)', () => {
    const n = 1e8;
    const below = kolmogorovPValue((1.18 - 1e-9) / Math.sqrt(n), n);
    const above = kolmogorovPValue((1.18 + 1e-9) / Math.sqrt(n), n);
    expect(Math.abs(below - above)).toBeLessThan(1e-6);
  });

  it('uses effective n = n·m/(n+m)', () => {
    const a = sketch(sample('normal', 400, 1));
    const b = sketch(sample('normal', 100, 2, 0.3));
    const result = ks(a.digest, b.digest);
    expect(result.effectiveN).toBe(80);
  });
});
