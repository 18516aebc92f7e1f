import type { CategoryCounts } from '../sketch/index.ts';
import { insufficient, statistic, type Statistic } from './result.ts';
import { categoryShares } from './shares.ts';

/**
 * L∞ distance between category shares: max_j |p_ref(j) − p_cur(j)| over the union of categories
 * (`__other__` included), in [0, 1]; the largest single-category swing (TFDV's categorical drift
 * comparator). Insufficient (0) when either side is empty.
 */
export function linf(reference: CategoryCounts, current: CategoryCounts): Statistic {
  if (reference.total === 0 || current.total === 0) return insufficient(0);
  const shares = categoryShares(reference, current);
  let max = 0;
  for (let i = 0; i < shares.categories.length; i++) {
    max = Math.max(max, Math.abs((shares.reference[i] as number) - (shares.current[i] as number)));
  }
  return statistic(max);
}
