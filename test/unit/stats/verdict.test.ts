import { describe, expect, it } from 'vitest';
import { Moments, TDigest } from '../../../src/sketch/index.ts';
import { categoricalVerdict, numericDrift, numericVerdict } from '../../../src/stats/index.ts';
import { sample } from '../sketch/distributions.ts';

function sketch(values: Float64Array): { digest: TDigest; moments: Moments } {
  const digest = new TDigest();
  const moments = new Moments();
  for (const x of values) {
    digest.add(x);
    moments.add(x);
  }
  return { digest, moments };
}

const base = { psi: 0, ks: 0, ks_p: 1, js: 0, wasserstein: 0, count_ref: 10_000, count_cur: 10_000 };

describe('drift verdict', () => {
  it('needs minSamples on both sides, else insufficient (never drifted)', () => {
    const verdict = numericVerdict({ ...base, psi: 5, ks: 0.9, ks_p: 0, count_cur: 99 });
    expect(verdict).toMatchObject({ drifted: false, insufficient: true });
    expect(verdict.reasons[0]).toMatch(/insufficient/);
  });

  it('a significant but tiny difference (high volume) is not drift', () => {
    expect(numericVerdict({ ...base, ks: 0.004, ks_p: 1e-6, psi: 0.001 }).drifted).toBe(false);
  });

  it('a large but insignificant difference (small windows) is not drift', () => {
    expect(numericVerdict({ ...base, psi: 0.25, ks_p: 0.2, count_ref: 100, count_cur: 100 }).drifted).toBe(false);
  });

  it('large and significant is drift, with reasons', () => {
    const verdict = numericVerdict({ ...base, psi: 0.3, ks: 0.2, ks_p: 1e-9 });
    expect(verdict.drifted).toBe(true);
    expect(verdict.reasons).toContain('psi 0.3 ≥ 0.2');
    expect(categoricalVerdict({ js: 0.2, linf: 0.05, chi2_p: 1e-5, count_ref: 500, count_cur: 500 }).drifted).toBe(true);
    expect(categoricalVerdict({ js: 0.2, linf: 0.05, chi2_p: 0.5, count_ref: 500, count_cur: 500 }).drifted).toBe(false);
  });

  it('end to end: 2e5 stationary values do not drift, a 1σ mean shift does', () => {
    const ref = sketch(sample('normal', 200_000, 1));
    const same = numericDrift(ref, sketch(sample('normal', 200_000, 2)));
    expect(numericVerdict(same).drifted).toBe(false);
    const shifted = numericDrift(ref, sketch(sample('normal', 2_000, 3, 1)));
    const verdict = numericVerdict(shifted);
    expect(verdict.drifted).toBe(true);
    expect(shifted.wasserstein).toBeGreaterThan(0.9);
  });
});
