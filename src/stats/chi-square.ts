import type { CategoryCounts } from '../sketch/index.ts';
import { chiSquareSurvival } from './gamma.ts';
import { categoryShares } from './shares.ts';

export interface ChiSquareResult {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
  readonly insufficient: boolean;
}

/**
 * Pearson's chi-square test of homogeneity on the 2×K table (reference, current) × categories:
 *   χ² = Σ_rows Σ_j (O − E)²/E,  E = row total · column total / N,  df = K − 1
 * p = Q(df/2, χ²/2), the regularised upper incomplete gamma (see gamma.ts). Categories come from both
 * sides, `__other__` included. Categories unseen in the reference need no smoothing: the expected
 * counts use the pooled column total, which is positive for every category that appears anywhere, so
 * a new category adds a finite (large) term instead of the division by zero a goodness-of-fit test
 * against reference shares would hit. Insufficient (χ² 0, p 1) when either side is empty; one category
 * in total is no evidence (p 1).
 */
export function chiSquare(reference: CategoryCounts, current: CategoryCounts): ChiSquareResult {
  const nRef = reference.total;
  const nCur = current.total;
  if (nRef === 0 || nCur === 0) return { statistic: 0, df: 0, pValue: 1, insufficient: true };
  const { categories } = categoryShares(reference, current);
  const n = nRef + nCur;
  let statistic = 0;
  let k = 0;
  for (const name of categories) {
    const observedRef = reference.get(name);
    const observedCur = current.get(name);
    const column = observedRef + observedCur;
    if (column === 0) continue;
    k++;
    const expectedRef = (nRef * column) / n;
    const expectedCur = (nCur * column) / n;
    statistic += (observedRef - expectedRef) ** 2 / expectedRef + (observedCur - expectedCur) ** 2 / expectedCur;
  }
  const df = Math.max(0, k - 1);
  return { statistic, df, pValue: chiSquareSurvival(statistic, df), insufficient: false };
}
