import { ModelSummary } from '../aggregate/index.ts';
import type { WindowPlan } from '../evaluate/windows.ts';
import { bucketStarts } from '../evaluate/windows.ts';
import type { SummaryState } from './state.ts';

interface CachedReference {
  coarseFrom: number;
  coarseTo: number;
  fineFrom: number;
  /** Fine buckets below this are merged in. */
  fineUpTo: number;
  summary: ModelSummary;
}

/**
 * The rolling reference of each model, kept merged between ticks. Its coarse part changes once per
 * coarse bucket and its fine part only grows (add-only merges of the buckets that leave the current
 * window), so a tick reads a bucket or two per model instead of a day of them.
 */
export class ReferenceCache {
  private readonly cache = new Map<string, CachedReference>();

  constructor(
    private readonly windows: SummaryState['windows'],
    private readonly fineMs: number,
    private readonly coarseMs: number,
  ) {}

  async get(model: string, plan: WindowPlan['reference']): Promise<ModelSummary> {
    let cached = this.cache.get(model);
    if (!cached || cached.coarseFrom !== plan.coarse.from || cached.coarseTo !== plan.coarse.to || cached.fineFrom !== plan.fine.from) {
      const summary = ModelSummary.combine(await this.windows.summaries(model, 'coarse', bucketStarts(plan.coarse, this.coarseMs)));
      cached = { coarseFrom: plan.coarse.from, coarseTo: plan.coarse.to, fineFrom: plan.fine.from, fineUpTo: plan.fine.from, summary };
      this.cache.set(model, cached);
    }
    if (cached.fineUpTo < plan.fine.to) {
      const fine = await this.windows.summaries(model, 'fine', bucketStarts({ from: cached.fineUpTo, to: plan.fine.to }, this.fineMs));
      for (const bucket of fine) cached.summary.merge(bucket);
      cached.fineUpTo = plan.fine.to;
    }
    return cached.summary;
  }

  /** Drops models this worker no longer evaluates (their leases went to others). */
  retain(models: ReadonlySet<string>): void {
    for (const model of this.cache.keys()) if (!models.has(model)) this.cache.delete(model);
  }
}
