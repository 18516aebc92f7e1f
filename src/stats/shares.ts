import type { CategoryCounts } from '../sketch/index.ts';

/** Aligned shares of two category counts over the sorted union of their categories. */
export function categoryShares(
  reference: CategoryCounts,
  current: CategoryCounts,
): { categories: string[]; reference: number[]; current: number[] } {
  const names = new Set<string>();
  for (const [name] of reference.entries()) names.add(name);
  for (const [name] of current.entries()) names.add(name);
  const categories = [...names].sort();
  return {
    categories,
    reference: categories.map((name) => (reference.total === 0 ? 0 : reference.get(name) / reference.total)),
    current: categories.map((name) => (current.total === 0 ? 0 : current.get(name) / current.total)),
  };
}
