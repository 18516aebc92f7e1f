import type { StatisticName } from './statistics.ts';

/**
 * What a rule is, as the evaluator reads it. The topology schema (config/rules.ts) validates files
 * into these shapes; evaluation never depends on how they were written down.
 */
export type RuleTarget = 'feature' | 'prediction' | 'model';
export type RuleValueType = 'numeric' | 'categorical' | 'any';

/** Globs over the series a rule or override applies to ("*" matches everything); role is the model's role now. */
export interface SeriesMatch {
  predictor: string;
  model: string;
  feature: string;
  role: 'primary' | 'shadow' | 'canary' | '*';
}

/**
 * A rule: which series it watches (target, value type, globs), which statistic, the threshold it fires
 * beyond (`above` or `below`), the line it clears back past (`clear`, hysteresis), how long the breach
 * must last (`for`, ms), and how many samples the window needs before it may say anything.
 */
export interface Rule {
  name: string;
  target: RuleTarget;
  type: RuleValueType;
  statistic: StatisticName;
  above?: number | undefined;
  below?: number | undefined;
  clear?: number | undefined;
  for: number;
  severity: string;
  min_samples: number;
  /**
   * Drift statistics: fire only if the matching test's p-value is also below this (KS for numeric
   * distances, Anderson–Darling for shape and band_change, χ² for categorical series).
   */
  significance?: number | undefined;
  /**
   * The current windows the rule reads, a glob over their names ("*": all of them; the first by
   * default). It fires when any of them breaches and clears when all of them are clear.
   */
  window?: string | undefined;
  /** Another rule's name: this one does not start an incident while that one is pending or firing on the same series. */
  unless?: string | undefined;
  match: SeriesMatch;
  enabled: boolean;
}

/** Changes to fields of named rules (or all, with "*") for the series its globs match. */
export interface RuleOverride {
  rule: string;
  match: SeriesMatch;
  above?: number | undefined;
  below?: number | undefined;
  clear?: number | undefined;
  for?: number | undefined;
  severity?: string | undefined;
  min_samples?: number | undefined;
  significance?: number | undefined;
  enabled?: boolean | undefined;
}
