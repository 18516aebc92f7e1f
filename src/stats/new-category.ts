import { OTHER_CATEGORY, type CategoryCounts } from '../sketch/index.ts';
import { insufficient, statistic, type Statistic } from './result.ts';

/**
 * Share of current (non-missing) values whose category the reference never saw.
 * Counted: current named categories absent from the reference. Not counted: the current `__other__`
 * bucket (its categories are unknown), and nothing at all when the reference itself overflowed —
 * an unnamed category may be hiding in the reference's `__other__`, and a false "new" is worse than
 * a missed one. Insufficient (0) when either side is empty.
 */
export function newCategoryRate(reference: CategoryCounts, current: CategoryCounts): Statistic {
  if (reference.total === 0 || current.total === 0) return insufficient(0);
  if (reference.other > 0) return statistic(0);
  let unseen = 0;
  for (const [name, count] of current.entries()) {
    if (name !== OTHER_CATEGORY && reference.get(name) === 0) unseen += count;
  }
  return statistic(unseen / current.total);
}
