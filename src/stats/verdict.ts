import type { CategoricalDrift, NumericDrift } from './drift.ts';

/**
 * When is a difference drift? A p-value alone is the wrong test at streaming volume: with 10⁶ values
 * per side KS flags shifts of 0.002 — irrelevant to a model, and the same size as the digest's own rank
 * error — while effect sizes alone are noisy on small windows (PSI over 10 bins has an expected value of
 * about 9·(1/n + 1/m) between two samples of one distribution: 0.18 at n = m = 100).
 *
 * Rule: drifted ⇔ enough data ∧ significant ∧ large enough.
 * - enough data: both sides hold ≥ minSamples values, else `insufficient` (never drifted);
 * - significant: KS p < alpha (numeric), chi-square p < alpha (categorical);
 * - large enough: at least one effect size over its threshold — numeric PSI ≥ 0.2, JS ≥ 0.1,
 *   KS D ≥ 0.1 or W₁/σ_ref ≥ 0.5; categorical JS ≥ 0.1 or L∞ ≥ 0.1.
 * `reasons` lists the effect sizes over threshold (when drifted) or why not.
 */
export interface VerdictThresholds {
  readonly alpha: number;
  readonly minSamples: number;
  readonly psi: number;
  readonly js: number;
  readonly ks: number;
  readonly wasserstein: number;
  readonly linf: number;
}

export const DEFAULT_THRESHOLDS: VerdictThresholds = {
  alpha: 0.01,
  minSamples: 100,
  psi: 0.2,
  js: 0.1,
  ks: 0.1,
  wasserstein: 0.5,
  linf: 0.1,
};

export interface Verdict {
  readonly drifted: boolean;
  readonly insufficient: boolean;
  readonly reasons: readonly string[];
}

type NumericInput = Pick<NumericDrift, 'psi' | 'ks' | 'ks_p' | 'js' | 'wasserstein' | 'count_ref' | 'count_cur'>;
type CategoricalInput = Pick<CategoricalDrift, 'js' | 'linf' | 'chi2_p' | 'count_ref' | 'count_cur'>;

export function numericVerdict(drift: NumericInput, thresholds: Partial<VerdictThresholds> = {}): Verdict {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  return decide(drift.count_ref, drift.count_cur, drift.ks_p, 'ks_p', t, [
    ['psi', drift.psi, t.psi],
    ['js', drift.js, t.js],
    ['ks', drift.ks, t.ks],
    ['wasserstein', drift.wasserstein, t.wasserstein],
  ]);
}

export function categoricalVerdict(drift: CategoricalInput, thresholds: Partial<VerdictThresholds> = {}): Verdict {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  return decide(drift.count_ref, drift.count_cur, drift.chi2_p, 'chi2_p', t, [
    ['js', drift.js, t.js],
    ['linf', drift.linf, t.linf],
  ]);
}

function decide(
  countRef: number,
  countCur: number,
  pValue: number,
  pName: string,
  t: VerdictThresholds,
  effects: ReadonlyArray<readonly [string, number, number]>,
): Verdict {
  if (countRef < t.minSamples || countCur < t.minSamples) {
    return {
      drifted: false,
      insufficient: true,
      reasons: [`insufficient data: ${countRef} reference and ${countCur} current values, need ${t.minSamples} each`],
    };
  }
  const large = effects.filter(([, value, threshold]) => value >= threshold).map(([name, value, threshold]) => `${name} ${fmt(value)} ≥ ${threshold}`);
  const significant = pValue < t.alpha;
  if (large.length === 0) return { drifted: false, insufficient: false, reasons: ['no effect size over its threshold'] };
  if (!significant) return { drifted: false, insufficient: false, reasons: [`${pName} ${fmt(pValue)} ≥ alpha ${t.alpha}`] };
  return { drifted: true, insufficient: false, reasons: [...large, `${pName} ${fmt(pValue)} < ${t.alpha}`] };
}

function fmt(value: number): string {
  return Number(value.toPrecision(3)).toString();
}
