import type { CategoryCounts, Moments, TDigest } from '../sketch/index.ts';
import { chiSquare } from './chi-square.ts';
import { jsDistance, jsDistanceCategorical } from './js.ts';
import { ks } from './ks.ts';
import { linf } from './linf.ts';
import { newCategoryRate } from './new-category.ts';
import { outOfRangeRate } from './out-of-range.ts';
import { psi } from './psi.ts';
import { wasserstein } from './wasserstein.ts';

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
  readonly out_of_range: number;
  readonly count_ref: number;
  readonly count_cur: number;
  /** An input is empty: every value above is neutral (0, p = 1). */
  readonly insufficient: boolean;
}

export function numericDrift(reference: NumericSketches, current: NumericSketches): NumericDrift {
  const ksResult = ks(reference.digest, current.digest);
  return {
    psi: psi(reference.digest, current.digest).value,
    ks: ksResult.statistic,
    ks_p: ksResult.pValue,
    js: jsDistance(reference.digest, current.digest).value,
    wasserstein: wasserstein(reference.digest, current.digest, reference.moments).value,
    out_of_range: outOfRangeRate(reference.digest, current.digest).value,
    count_ref: reference.digest.count,
    count_cur: current.digest.count,
    insufficient: ksResult.insufficient,
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
