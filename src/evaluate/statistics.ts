/**
 * The statistics a rule can watch, by the kind of series they apply to. One list, so that the topology
 * validator, the evaluator and the docs agree on the names.
 */
export const FEATURE_STATISTICS = [
  'psi', 'ks', 'ks_p', 'js', 'wasserstein', 'mean_shift', 'out_of_range_rate', 'ad', 'ad_p', 'shape', 'band_change', // numeric
  'linf', 'chi2_p', 'new_category_rate', // categorical (js too)
  'missing_rate', 'missing_rate_increase', 'default_rate', 'default_rate_increase', // both
] as const;

export const MODEL_STATISTICS = [
  'count', 'throughput', 'error_rate', 'error_rate_increase',
  'latency_p50', 'latency_p90', 'latency_p95', 'latency_p99', 'latency_p99_ratio',
  'accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'log_loss', 'auc', 'mae', 'rmse', 'bias', 'label_coverage',
] as const;

export type FeatureStatistic = (typeof FEATURE_STATISTICS)[number];
export type ModelStatistic = (typeof MODEL_STATISTICS)[number];
export type StatisticName = FeatureStatistic | ModelStatistic;
export const STATISTICS: readonly StatisticName[] = [...FEATURE_STATISTICS, ...MODEL_STATISTICS];

/** Statistics from joined labels: judged on the labeled predictions of the window, with no reference. */
export const PERFORMANCE_STATISTICS: ReadonlySet<StatisticName> = new Set([
  'accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'log_loss', 'auc', 'mae', 'rmse', 'bias', 'label_coverage',
]);
