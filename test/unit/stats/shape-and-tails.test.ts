import { describe, expect, it } from 'vitest';
import { CategoryCounts, TDigest } from '../../../src/sketch/index.ts';
import { andersonDarling, andersonDarlingPValue, bandChange, chiSquare, erfc, meanAbsoluteDeviation, normalSurvival, shapeChange, symmetricEigenvalues, tiedSpectrum, weightedChiSquareTail } from '../../../src/stats/index.ts';
import { DISTRIBUTION_NAMES, ExactRanks, sample } from '../sketch/distributions.ts';
import { exactAndersonDarling, exactMeanAbsoluteDeviation, exactShapeChange } from './exact.ts';

const digestOf = (values: Float64Array): TDigest => {
  const digest = new TDigest();
  for (const x of values) digest.add(x);
  return digest;
};

describe('erfc', () => {
  it('matches known values to double precision in both tails', () => {
    // Reference values: Abramowitz & Stegun table 7.1 / mpmath.
    expect(erfc(0)).toBeCloseTo(1, 15);
    expect(erfc(1)).toBeCloseTo(0.157299207050285, 15);
    expect(erfc(-1)).toBeCloseTo(1.842700792949715, 15);
    expect(erfc(3) / 2.209049699858544e-5).toBeCloseTo(1, 12);
    expect(erfc(6) / 2.151973671249891e-17).toBeCloseTo(1, 12);
    expect(normalSurvival(1.959963984540054)).toBeCloseTo(0.025, 14);
  });
});

describe('Anderson–Darling', () => {
  it('p-values: the limiting distribution at its known critical points, continuous across the switch at 7', () => {
    // Critical values of the limiting A² distribution (Anderson & Darling 1954; Stephens 1974).
    expect(andersonDarlingPValue(1.933)).toBeCloseTo(0.1, 3);
    expect(andersonDarlingPValue(2.492)).toBeCloseTo(0.05, 3);
    expect(andersonDarlingPValue(3.857)).toBeCloseTo(0.01, 3);
    expect(andersonDarlingPValue(0)).toBe(1);
    const below = andersonDarlingPValue(7 - 1e-9);
    const above = andersonDarlingPValue(7);
    expect(Math.abs(above / below - 1)).toBeLessThan(0.005);
    // Monotone, and the tail follows √3·erfc(√z): at z = 16.5 about 1.6e-8 (Marsaglia's fit alone reads 5e-34).
    let previous = 1;
    for (let z = 0.05; z < 60; z += 0.05) {
      const p = andersonDarlingPValue(z);
      expect(p).toBeLessThanOrEqual(previous);
      previous = p;
    }
    expect(andersonDarlingPValue(16.5)).toBeGreaterThan(1.5e-8);
    expect(andersonDarlingPValue(16.5)).toBeLessThan(1.8e-8);
  });

  for (const name of DISTRIBUTION_NAMES) {
    it(`A² from digests agrees with Scholz & Stephens' A² from the raw samples: ${name}`, () => {
      const refValues = sample(name, 20_000, 1);
      const ref = digestOf(refValues);
      const exactRef = new ExactRanks(refValues);
      for (const [shift, scale, seed] of [[0, 1, 7], [0.3, 1, 8], [0, 1.5, 9]] as const) {
        const curValues = sample(name, 1000, seed, shift, scale);
        const exact = exactAndersonDarling(exactRef, new ExactRanks(curValues));
        const got = andersonDarling(ref, digestOf(curValues)).statistic;
        // Measured: within 1 % (ties included: point masses take the same midrank term), 4.6 % of a
        // small A² (0.47) for the bimodal H0 case.
        expect(Math.abs(got - exact), `${name} shift ${shift} scale ${scale}: exact ${exact}, digest ${got}`).toBeLessThanOrEqual(0.015 * exact + 0.05);
      }
    });
  }

  it('is calibrated under H0: rejection rates at 5 % and 1 % over 600 windows of 1,000 against references of 20,000', () => {
    for (const name of ['normal', 'pareto', 'poisson'] as const) {
      let at5 = 0;
      let at1 = 0;
      for (let r = 0; r < 6; r++) {
        const ref = digestOf(sample(name, 20_000, 100 + r));
        for (let t = 0; t < 100; t++) {
          const p = andersonDarling(ref, digestOf(sample(name, 1000, 10_000 + 100 * r + t))).pValue;
          if (p < 0.05) at5++;
          if (p < 0.01) at1++;
        }
      }
      // Binomial(600, 0.05): sd 5.3; (600, 0.01): sd 2.4. Ties make the test conservative, never liberal.
      expect(at5, name).toBeLessThanOrEqual(30 + 16);
      expect(at1, name).toBeLessThanOrEqual(6 + 8);
      if (name !== 'poisson') expect(at5, name).toBeGreaterThanOrEqual(30 - 16);
    }
  });

  it('sees a change of spread that KS barely sees, and empty inputs are insufficient', () => {
    const ref = digestOf(sample('normal', 20_000, 1));
    const wider = andersonDarling(ref, digestOf(sample('normal', 1000, 2, 0, 1.5)));
    // Functional 0.054 (N(0,1) vs N(0,1.5²)) × 1,000·20,000/21,000.
    expect(wider.statistic).toBeGreaterThan(40);
    expect(wider.pValue).toBeLessThan(1e-15);
    expect(andersonDarling(new TDigest(), ref)).toMatchObject({ statistic: 0, pValue: 1, insufficient: true });
  });
});

describe('shape change (spread and shape with location taken out)', () => {
  for (const name of DISTRIBUTION_NAMES) {
    it(`agrees with the same quantity from the raw samples: ${name}`, () => {
      const refValues = sample(name, 20_000, 1);
      const exactRef = new ExactRanks(refValues);
      const ref = digestOf(refValues);
      // E|X − median| lives in the tails when they are heavy: a few values past |x| > 1000 that a digest
      // knows by min/max only. Measured: ≤ 0.3 % for the others, 4.7 % for Pareto(1.5); Cauchy has none.
      const madError = Math.abs(meanAbsoluteDeviation(ref) / exactMeanAbsoluteDeviation(exactRef) - 1);
      if (name !== 'cauchy') expect(madError).toBeLessThan(name === 'pareto' ? 0.06 : 0.005);
      for (const [shift, scale, seed] of [[0, 1, 3], [5, 1, 4], [0, 1.5, 5], [2, 0.5, 6]] as const) {
        const curValues = sample(name, 10_000, seed, shift, scale);
        const exact = exactShapeChange(exactRef, new ExactRanks(curValues));
        const got = shapeChange(ref, digestOf(curValues)).value;
        // Measured ≤ 0.006, Pareto 0.021, Cauchy 0.11 (the same tails, in the divisor).
        const bound = name === 'cauchy' ? 0.15 : name === 'pareto' ? 0.03 : 0.01;
        expect(Math.abs(got - exact), `${name} shift ${shift} scale ${scale}: exact ${exact}, digest ${got}`).toBeLessThanOrEqual(bound);
      }
    });
  }

  it('reads |s − 1| for a change of scale s, 0 for a shift, and ≈ 0.5 on the issue\'s lognormal example', () => {
    const normal = digestOf(sample('normal', 50_000, 1));
    expect(shapeChange(normal, digestOf(sample('normal', 50_000, 2, 3, 1))).value).toBeLessThan(0.02);
    expect(shapeChange(normal, digestOf(sample('normal', 50_000, 3, -1, 1.5))).value).toBeCloseTo(0.5, 1);
    expect(shapeChange(normal, digestOf(sample('normal', 50_000, 4, 0, 2 / 3))).value).toBeCloseTo(1 / 3, 1);
    const lognormal = (mu: number, sigma: number) => (r: { normal(): number }) => Math.exp(mu + sigma * r.normal());
    const ref = digestOf(sample(lognormal(0, 1), 20_000, 5));
    const cur = digestOf(sample(lognormal(0.1, 1.2), 15_000, 6));
    const value = shapeChange(ref, cur).value;
    expect(value).toBeGreaterThan(0.35);
    expect(value).toBeLessThan(0.65);
    expect(shapeChange(new TDigest(), cur)).toEqual({ value: 0, insufficient: true });
  });
});

describe('quantile band change', () => {
  it('reads the widest factor of change of p5–p50, p50–p95, p25–p75 and ignores a shift', () => {
    const ref = digestOf(sample('normal', 50_000, 1));
    expect(bandChange(ref, digestOf(sample('normal', 50_000, 2, 10, 1))).value).toBeLessThan(0.03);
    expect(bandChange(ref, digestOf(sample('normal', 50_000, 3, 0, 1.5))).value).toBeCloseTo(0.5, 1);
    expect(bandChange(ref, digestOf(sample('normal', 50_000, 4, 0, 1 / 1.5))).value).toBeCloseTo(0.5, 1);
    // Only the upper tail stretches (values above the median doubled): p50–p95 is 2× wider.
    const stretched = sample('normal', 50_000, 5).map((x) => (x > 0 ? 2 * x : x));
    expect(bandChange(ref, digestOf(stretched)).value).toBeCloseTo(1, 1);
  });

  it('skips bands of zero width (point masses) and says 0 when none is left', () => {
    const coin = (share: number, seed: number) => sample((r) => (r.next() < share ? 1 : 0), 10_000, seed);
    expect(bandChange(digestOf(coin(0.5, 1)), digestOf(coin(0.2, 2))).value).toBe(0);
    expect(bandChange(new TDigest(), digestOf(coin(0.5, 1))).insufficient).toBe(true);
  });
});

describe('chi-square pools sparse categories', () => {
  const counts = (entries: Record<string, number>) => {
    const c = new CategoryCounts();
    for (const [name, n] of Object.entries(entries)) c.add(name, n);
    return c;
  };

  it('categories expected fewer than 5 times on the smaller side form one column', () => {
    // Smaller side 100 of 1,100: r1…r4 (column totals 12–30) are expected 1.1–2.7 times there → pooled
    // into one column (ref 60, cur 10: expected 6.4); a and b stay. Hand computation of the 2×3 table.
    const ref = counts({ a: 500, b: 440, r1: 20, r2: 20, r3: 10, r4: 10 });
    const cur = counts({ a: 50, b: 40, r1: 2, r2: 4, r3: 2, r4: 2 });
    const result = chiSquare(ref, cur);
    expect(result.df).toBe(2);
    const table = [[500, 50], [440, 40], [60, 10]];
    let expected = 0;
    for (const [x, y] of table) {
      const column = x! + y!;
      const ex = (1000 * column) / 1100;
      const ey = (100 * column) / 1100;
      expected += (x! - ex) ** 2 / ex + (y! - ey) ** 2 / ey;
    }
    expect(result.statistic).toBeCloseTo(expected, 10);
  });
});

describe('Anderson–Darling with ties', () => {
  it('weighted χ² tails: one weight is χ²₁ exactly; the continuous spectrum 1/(j(j+1)) gives the limiting A² tail', () => {
    for (const z of [4, 9, 16.5, 30]) {
      // P(χ²₁ > z) = erfc(√(z/2)); the saddlepoint is within a few percent of it.
      expect(weightedChiSquareTail([1], z) / erfc(Math.sqrt(z / 2))).toBeGreaterThan(0.95);
      expect(weightedChiSquareTail([1], z) / erfc(Math.sqrt(z / 2))).toBeLessThan(1.1);
    }
    const continuous = Array.from({ length: 300 }, (_, j) => 1 / ((j + 1) * (j + 2)));
    for (const [z, p] of [[3.857, 0.01], [6, 9.65e-4], [16.5, 1.63e-8]] as const) {
      const tail = weightedChiSquareTail(continuous, z, 1 / 301);
      expect(tail / p).toBeGreaterThan(0.95);
      expect(tail / p).toBeLessThan(1.1);
    }
  });

  it('symmetric eigenvalues by Jacobi rotations', () => {
    // [[2, 1], [1, 2]] has eigenvalues 1 and 3; a diagonal matrix its diagonal.
    expect([...symmetricEigenvalues(Float64Array.of(2, 1, 1, 2), 2)].sort()).toEqual([expect.closeTo(1, 12), expect.closeTo(3, 12)]);
    const m = Float64Array.of(4, 1, 0, 1, 3, 1, 0, 1, 2);
    const values = [...symmetricEigenvalues(m.slice(), 3)].sort((a, b) => a - b);
    // Trace 9, determinant 18: checked against the characteristic polynomial λ³ − 9λ² + 24λ − 18.
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(9, 10);
    expect(values.reduce((a, b) => a * b, 1)).toBeCloseTo(18, 9);
    for (const lambda of values) expect(lambda ** 3 - 9 * lambda ** 2 + 24 * lambda - 18).toBeCloseTo(0, 9);
  });

  it('the spectrum of a tied distribution: none for continuous data, one weight of 1 for two values (A² is then χ²₁)', () => {
    expect(tiedSpectrum(digestOf(sample('normal', 20_000, 1)).cdfKnots())).toBeUndefined();
    const coin = (share: number, n: number, seed: number) => sample((r) => (r.next() < share ? 1 : 0), n, seed);
    const spectrum = tiedSpectrum(digestOf(coin(0.3, 20_000, 2)).cdfKnots())!;
    expect(spectrum.length).toBe(1);
    expect(spectrum[0]).toBeCloseTo(1, 6);
    // Two values: A² (midranks) is Pearson's χ² of the 2×2 table, and its p-value that of χ²₁.
    const ref = digestOf(coin(0.3, 20_000, 3));
    const cur = digestOf(coin(0.36, 1000, 4));
    const result = andersonDarling(ref, cur);
    const table = [ref.count * (1 - ref.cdf(0.5)), cur.count * (1 - cur.cdf(0.5))];
    const pooled = (table[0]! + table[1]!) / (ref.count + cur.count);
    const chi2 = ((table[1]! / cur.count - table[0]! / ref.count) ** 2) / (pooled * (1 - pooled) * (1 / cur.count + 1 / ref.count));
    expect(result.statistic).toBeCloseTo(chi2, 1);
    expect(result.pValue / erfc(Math.sqrt(result.statistic / 2))).toBeGreaterThan(0.9);
    expect(result.pValue / erfc(Math.sqrt(result.statistic / 2))).toBeLessThan(1.15);
  });

  it('is calibrated on discrete data: Poisson(3) windows reject at 1 % as often as they should', () => {
    let below = 0;
    for (let r = 0; r < 4; r++) {
      const ref = digestOf(sample('poisson', 20_000, 300 + r));
      for (let t = 0; t < 250; t++) if (andersonDarling(ref, digestOf(sample('poisson', 800, 20_000 + 250 * r + t))).pValue < 0.01) below++;
    }
    // Binomial(1000, 0.01): 10 ± 3.1. Without the tie spectrum: 22 (measured 2.2× at this level, 11× at 1e-5).
    expect(below).toBeLessThanOrEqual(18);
    expect(below).toBeGreaterThanOrEqual(3);
  });
});
