import { PairSummary } from './pair-summary.ts';
import { PerformanceSummary } from './performance.ts';
import { ModelSummary } from './summary.ts';

/**
 * How the state layer folds stored bytes into one summary (compaction, write-backs, window reads):
 * passed to `openState`, which never decodes anything itself.
 */
export const SUMMARY_CODECS = {
  summary: {
    merge: (blobs: readonly Buffer[]): ModelSummary => ModelSummary.mergeAll(blobs),
    encode: (summary: ModelSummary): Buffer => summary.encode(),
  },
  performance: {
    merge: (blobs: readonly Buffer[]): PerformanceSummary => PerformanceSummary.mergeAll(blobs),
    encode: (summary: PerformanceSummary): Buffer => summary.encode(),
  },
  pairs: {
    merge: (blobs: readonly Buffer[]): PairSummary => PairSummary.mergeAll(blobs),
    encode: (summary: PairSummary): Buffer => summary.encode(),
  },
};
