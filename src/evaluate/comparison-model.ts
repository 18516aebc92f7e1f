/**
 * What a shadow/canary comparison is, as the comparison code reads it (config/comparisons.ts validates
 * topology files into these shapes, as config/rules.ts does for alert rules).
 */

/**
 * The statistics a comparison computes for a candidate against its baseline, each nameable in a
 * comparison rule. Differences are candidate − baseline; ratios candidate / baseline.
 */
export const COMPARISON_STATISTICS = [
  // On each model's own labelled predictions, made since the comparison started.
  'accuracy_difference', 'mae_difference', 'log_loss_difference', 'rmse_difference', 'auc_difference',
  // Every prediction since the comparison started (exact counts).
  'error_rate_difference',
  // The current window.
  'latency_p50_ratio', 'latency_p99_ratio', 'prediction_ks', 'prediction_psi', 'prediction_js', 'prediction_linf',
  // Paired predictions (shadows with request_id): the same requests.
  'agreement', 'mean_abs_difference', 'rank_correlation',
] as const;
export type ComparisonStatistic = (typeof COMPARISON_STATISTICS)[number];

/**
 * Statistics with an always-valid confidence sequence: a rule on them is judged on its bound (breached
 * once the whole sequence is past the threshold), not on the point estimate.
 */
export const SEQUENTIAL_STATISTICS: ReadonlySet<ComparisonStatistic> = new Set(['accuracy_difference', 'mae_difference', 'error_rate_difference', 'agreement', 'mean_abs_difference']);

export type CandidateRole = 'shadow' | 'canary';

/** A guard-rail: the candidate is rolled back when it breaks (and cannot be promoted while it does). */
export interface ComparisonRule {
  name: string;
  statistic: ComparisonStatistic;
  above?: number | undefined;
  below?: number | undefined;
  /** Samples the statistic needs (labels, predictions, latency samples or pairs, on each side). */
  min_samples: number;
  /** How long a point-estimate breach must last (sequential statistics decide at once). */
  for: number;
  match: { predictor: string; model: string; role: CandidateRole | '*' };
  enabled: boolean;
}

/** A baseline pinned for candidates of a predictor (instead of its busiest primary). */
export interface ComparisonPin {
  predictor: string;
  baseline_model: string;
  /** A glob over the candidates' model ids. */
  candidate_model: string;
}

export interface ComparisonSettings {
  enabled: boolean;
  /** The error rate of all decisions of one comparison together (split over its sequential tests). */
  alpha: number;
  /** The labelled metric that decides: accuracy (classification), mae (regression), or by what the labels are. */
  metric: 'auto' | 'accuracy' | 'mae';
  /** Accuracy: worse by more than this many points (absolute) is a rollback. */
  accuracy_margin: number;
  /** MAE: worse by more than this share of the baseline's MAE is a rollback. */
  mae_margin: number;
  /** Labels (and predictions) each side needs before a sequential test may decide. */
  min_samples: number;
  /** The window latency and the distribution of predictions are compared over (and the busiest primary picked in). */
  window: number;
  /** No promotion before the comparison has run this long. */
  min_duration: number;
  /** A comparison still undecided this long stops, without a verdict ("expired"). */
  max_duration: number;
  promote: boolean;
  /** How long a request's predictions wait for each other to be paired. */
  pair_ttl: number;
  /** How long verdicts and their evidence are kept in Redis. */
  audit_ttl: number;
  pins: ComparisonPin[];
  rules: ComparisonRule[];
}
