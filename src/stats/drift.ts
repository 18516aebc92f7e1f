import type { CategoryCounts, Moments, TDigest } from '../sketch/index.ts';
import { binShares, referenceEdges } from './bins.ts';
import { chiSquare } from './chi-square.ts';
import { jsDistanceCategorical, jsDistanceFromShares } from './js.ts';
import { andersonDarlingPValue } from './anderson-darling.ts';
import { knotDistances, type KnotDistances } from './knot-walk.ts';
import { kolmogorovPValue } from './ks.ts';
import { linf } from './linf.ts';
import { newCategoryRate } from './new-category.ts';
import { outOfRangeRate } from './out-of-range.ts';
import { psiFromShares } from './psi.ts';
import { bandChange, shapeChange } from './shape.ts';
import { wassersteinScale } from './wasserstein.ts';

export interface NumericSketches {
  readonly digest: TDigest;
  readonly moments: Moments;
}

/** Every numeric drift statistic for one reference/current pair; keys as in `status --json`. */
export interface NumericDrift {
  readonly psi: number;
  readonly ks: number;
  readonly ks_p: number;
  readonly js: number;
  readonly wasserstein: number;
  /** Two-sample Anderson–Darling A² and its p-value (anderson-darling.ts). */
  readonly ad: number;
  readonly ad_p: number;
  /** Spread and shape change with location taken out (shape.ts). */
  readonly shape: number;
  /** Largest change of a quantile band's width (shape.ts). */
  readonly band_change: number;
  readonly out_of_range: number;
  readonly count_ref: number;
  readonly count_cur: number;
  /** An input is empty: every value above is neutral (0, p = 1). */
  readonly insufficient: boolean;
}

const distances: KnotDistances = { sup: 0, l1: 0, ad: 0 };

/**
 * Same numbers as psi, ks, jsDistance, wasserstein, andersonDarling, shapeChange, bandChange and
 * outOfRangeRate called one by one, with the shared work done once: one knot walk gives KS, W₁ and the
 * Anderson–Darling integral, one set of reference-decile bins serves PSI and JS.
 */
export function numericDrift(reference: NumericSketches, current: NumericSketches): NumericDrift {
  const ref = reference.digest;
  const cur = current.digest;
  const n = ref.count;
  const m = cur.count;
  if (n === 0 || m === 0) {
    return { psi: 0, ks: 0, ks_p: 1, js: 0, wasserstein: 0, ad: 0, ad_p: 1, shape: 0, band_change: 0, out_of_range: 0, count_ref: n, count_cur: m, insufficient: true };
  }
  const { sup, l1, ad } = knotDistances(ref.cdfKnots(), cur.cdfKnots(), distances, n / (n + m));
  const a2 = ((n * m) / (n + m)) * ad;
  const edges = referenceEdges(ref);
  const refShares = binShares(ref, edges);
  const curShares = binShares(cur, edges);
  return {
    psi: psiFromShares(refShares, curShares),
    ks: sup,
    ks_p: kolmogorovPValue(sup, (n * m) / (n + m)),
    js: jsDistanceFromShares(refShares, curShares),
    wasserstein: l1 / wassersteinScale(reference.moments),
    ad: a2,
    ad_p: andersonDarlingPValue(a2),
    shape: shapeChange(ref, cur).value,
    band_change: bandChange(ref, cur).value,
    out_of_range: outOfRangeRate(ref, cur).value,
    count_ref: n,
    count_cur: m,
    insufficient: false,
  };
}

/** Every categorical drift statistic for one reference/current pair; keys as in `status --json`. */
export interface CategoricalDrift {
  readonly js: number;
  readonly linf: number;
  readonly chi2: number;
  readonly chi2_df: number;
  readonly chi2_p: number;
  readonly new_category_rate: number;
  readonly count_ref: number;
  readonly count_cur: number;
  readonly insufficient: boolean;
}

export function categoricalDrift(reference: CategoryCounts, current: CategoryCounts): CategoricalDrift {
  const chi = chiSquare(reference, current);
  return {
    js: jsDistanceCategorical(reference, current).value,
    linf: linf(reference, current).value,
    chi2: chi.statistic,
    chi2_df: chi.df,
    chi2_p: chi.pValue,
    new_category_rate: newCategoryRate(reference, current).value,
    count_ref: reference.total,
    count_cur: current.total,
    insufficient: chi.insufficient,
  };
}
