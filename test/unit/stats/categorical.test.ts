import { describe, expect, it } from 'vitest';
import { CategoryCounts } from '../../../src/sketch/index.ts';
import { categoricalDrift, chiSquare, jsDistanceCategorical, linf, newCategoryRate } from '../../../src/stats/index.ts';
import { chiSquareSurvival, gammaQ, logGamma } from '../../../src/stats/gamma.ts';
import { createRandom } from '../../../src/random.ts';

function counts(entries: Record<string, number>, cap = 100): CategoryCounts {
  const c = new CategoryCounts(cap);
  for (const [name, n] of Object.entries(entries)) c.add(name, n);
  return c;
}

describe('categorical drift statistics', () => {
  it('chi-square homogeneity on a hand-computed table', () => {
    // Pooled shares 0.4/0.6 ⇒ expected 40/60 per row; χ² = 2·(10²/40 + 10²/60) = 8.333…, df 1.
    const result = chiSquare(counts({ a: 50, b: 50 }), counts({ a: 30, b: 70 }));
    expect(result.statistic).toBeCloseTo(25 / 3, 12);
    expect(result.df).toBe(1);
    expect(result.pValue).toBeCloseTo(0.003892, 5);
  });

  it('categories unseen in the reference give finite statistics', () => {
    const ref = counts({ a: 500, b: 500 });
    const cur = counts({ a: 400, b: 400, c: 200 });
    const drift = categoricalDrift(ref, cur);
    expect(Number.isFinite(drift.chi2)).toBe(true);
    expect(drift.chi2_df).toBe(2);
    expect(drift.chi2_p).toBeLessThan(1e-10);
    expect(drift.linf).toBeCloseTo(0.2, 12);
    expect(drift.new_category_rate).toBeCloseTo(0.2, 12);
    // JS by hand: p = (.5, .5, 0), q = (.4, .4, .2), m = (.45, .45, .1)
    const js = Math.sqrt(0.5 * (2 * 0.5 * Math.log2(0.5 / 0.45)) + 0.5 * (2 * 0.4 * Math.log2(0.4 / 0.45) + 0.2 * Math.log2(2)));
    expect(drift.js).toBeCloseTo(js, 12);
  });

  it('identical shares read zero; disjoint categories read one', () => {
    expect(jsDistanceCategorical(counts({ a: 1, b: 3 }), counts({ a: 10, b: 30 })).value).toBe(0);
    expect(linf(counts({ a: 1, b: 3 }), counts({ a: 10, b: 30 })).value).toBe(0);
    expect(chiSquare(counts({ a: 1, b: 3 }), counts({ a: 10, b: 30 })).pValue).toBe(1);
    expect(jsDistanceCategorical(counts({ a: 5 }), counts({ b: 5 })).value).toBeCloseTo(1, 12);
    expect(linf(counts({ a: 5 }), counts({ b: 5 })).value).toBe(1);
    expect(chiSquare(counts({ a: 7 }), counts({ a: 9 })).pValue).toBe(1); // one category: no evidence
  });

  it('empty sides are insufficient with neutral values', () => {
    const empty = new CategoryCounts();
    empty.addMissing(10);
    const drift = categoricalDrift(empty, counts({ a: 1 }));
    expect(drift).toMatchObject({ js: 0, linf: 0, chi2: 0, chi2_p: 1, new_category_rate: 0, insufficient: true });
  });

  it('new-category rate stays 0 when the reference overflowed (a new name may hide in __other__)', () => {
    const ref = counts({ a: 1, b: 1, c: 1 }, 2);
    expect(ref.other).toBe(1);
    expect(newCategoryRate(ref, counts({ d: 5 })).value).toBe(0);
  });
});

describe('special functions', () => {
  it('log-gamma and the regularised incomplete gamma match known values', () => {
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(logGamma(10)).toBeCloseTo(Math.log(362880), 10);
    for (const x of [0.1, 1, 5, 30]) expect(gammaQ(1, x)).toBeCloseTo(Math.exp(-x), 12);
    expect(chiSquareSurvival(3.841459, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(18.307038, 10)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(124.342113, 100)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(0, 3)).toBe(1);
  });
});

describe('categoricalDrift equals the statistics computed one by one', () => {
  it('over named, new, overflowed and sparse categories', () => {
    const random = createRandom(3);
    for (let trial = 0; trial < 20; trial++) {
      const ref = new CategoryCounts(12);
      const cur = new CategoryCounts(12);
      for (let i = 0; i < 2000; i++) ref.add(`k${Math.floor(random.next() ** 2 * 16)}`);
      for (let i = 0; i < 300; i++) cur.add(`k${Math.floor(random.next() ** (1 + trial / 10) * 18)}`);
      const drift = categoricalDrift(ref, cur);
      const chi = chiSquare(ref, cur);
      expect(drift.js).toBeCloseTo(jsDistanceCategorical(ref, cur).value, 12);
      expect(drift.linf).toBeCloseTo(linf(ref, cur).value, 12);
      expect(drift.chi2).toBeCloseTo(chi.statistic, 9);
      expect(drift.chi2_df).toBe(chi.df);
      expect(drift.chi2_p).toBeCloseTo(chi.pValue, 12);
      expect(drift.new_category_rate).toBeCloseTo(newCategoryRate(ref, cur).value, 12);
    }
  });
});
