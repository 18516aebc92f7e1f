import { z } from 'zod';
import { FEATURE_STATISTICS, MODEL_STATISTICS, STATISTICS, type StatisticName } from '../evaluate/statistics.ts';
import { parseDuration } from '../evaluate/duration.ts';
import type { Rule, RuleOverride } from '../evaluate/rule-model.ts';

export const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected a duration such as "30s", "5m", "1h", got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

const glob = z.string().min(1);

/** The fields of a rule (evaluate/rule-model.ts says what each means). */
const ruleFields = {
  target: z.enum(['feature', 'prediction', 'model']),
  type: z.enum(['numeric', 'categorical', 'any']).default('any'),
  statistic: z.enum(STATISTICS as unknown as [StatisticName, ...StatisticName[]]),
  above: z.number().optional(),
  below: z.number().optional(),
  clear: z.number().optional(),
  for: durationSchema.default('0s'),
  severity: z.string().min(1).default('warning'),
  min_samples: z.number().int().nonnegative().default(500),
  /**
   * For drift statistics: fire only if the matching test is also significant (KS p-value for numeric
   * series, chi-square p-value for categorical ones) below this. The threshold bounds the effect size
   * nobody cares about at a million samples; the p-value bounds the noise of small windows.
   */
  significance: z.number().positive().max(1).optional(),
  /** The current windows the rule reads: a glob over their names ("*" = all); the first by default. */
  window: z.string().min(1).optional(),
  /** Another rule's name: no new incident of this rule while that one is pending or firing on the same series. */
  unless: z.string().min(1).optional(),
  match: z
    .object({ predictor: glob.default('*'), model: glob.default('*'), feature: glob.default('*'), role: z.enum(['*', 'primary', 'shadow', 'canary']).default('*') })
    .strict()
    .default({}),
  enabled: z.boolean().default(true),
};

export const ruleSchema = z
  .object({ name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected lower-case letters, digits and _ . -'), ...ruleFields })
  .strict()
  .superRefine((rule, ctx) => {
    if ((rule.above === undefined) === (rule.below === undefined)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected exactly one of "above" or "below"' });
    }
    const modelLevel = (MODEL_STATISTICS as readonly string[]).includes(rule.statistic);
    if (rule.target === 'model' && !modelLevel) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['statistic'], message: `"${rule.statistic}" is a feature statistic; the target is model` });
    }
    if (rule.target !== 'model' && !(FEATURE_STATISTICS as readonly string[]).includes(rule.statistic)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['statistic'], message: `"${rule.statistic}" is a model statistic; the target is ${rule.target}` });
    }
    const threshold = rule.above ?? rule.below;
    if (rule.clear !== undefined && threshold !== undefined) {
      const wrongSide = rule.above !== undefined ? rule.clear > threshold : rule.clear < threshold;
      if (wrongSide) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['clear'], message: 'the clear line must lie on the healthy side of the threshold' });
    }
  });

/** An override changes fields of named rules (or all, with "*") for the series its globs match. */
export const overrideSchema = z
  .object({
    rule: z.string().min(1).default('*'),
    match: ruleFields.match,
    above: z.number().optional(),
    below: z.number().optional(),
    clear: z.number().optional(),
    for: durationSchema.optional(),
    severity: z.string().min(1).optional(),
    min_samples: z.number().int().nonnegative().optional(),
    significance: z.number().positive().max(1).optional(),
    enabled: z.boolean().optional(),
  })
  .strict();

// The schemas validate into the evaluator's rule model: a change on either side that breaks this fails to compile.
export type { Rule, RuleOverride } from '../evaluate/rule-model.ts';
const _rule: (parsed: z.output<typeof ruleSchema>) => Rule = (parsed) => parsed;
const _override: (parsed: z.output<typeof overrideSchema>) => RuleOverride = (parsed) => parsed;
void _rule;
void _override;

const rule = (fields: Record<string, unknown>) => fields;

/** The significance of the built-in drift rules: see DEFAULT_RULES and docs/detection.md. */
export const DRIFT_SIGNIFICANCE = 1e-8;

/**
 * What everything seen is watched for with no configuration (docs/detection.md has the statistics,
 * the calibration and the measured delays and false alarms).
 *
 * Drift rules pair an effect size (what is worth waking someone for) with a significance gate (what
 * noise cannot produce), and read every current window at once (`window: '*'`; by default the last 10
 * seconds and the last minute): a large change fires from the short window within a tick, a small one
 * from the long window later. Their significance, 1e-8, is calibrated for continuous monitoring: a
 * numeric series is tested 360 ticks × 2 windows × 2 rules = 1,440 times an hour, so even if every test
 * were independent (Bonferroni) its false alarms stay ≤ 1.4e-5 per series-hour, 7× under the budget of
 * 1 per 10,000 series-hours; measured far lower (BENCH.md).
 * - location and anything else KS sees: KS > 0.1 (a mean shift of ¼σ; 1σ reads 0.38), KS p < 1e-8;
 * - spread and shape: `shape` > 0.25 (a scale change around the median beyond ×1.25 or ×0.75, or as
 *   much change of shape), Anderson–Darling p < 1e-8, unless the location rule is already firing (a shift in
 *   progress makes a window bimodal for a tick);
 * - the prediction's quantile bands (p5–p50, p50–p95, p25–p75) 25 % wider or narrower, same gate;
 * - categorical: a share moving by 5 points (L∞ > 0.05), χ² p < 1e-8 (sparse categories pooled).
 * PSI, JS, W₁/σ, A² and the rest are computed and exported for every feature; add rules on them as needed.
 */
export const DEFAULT_RULES = [
  rule({ name: 'feature-drift', target: 'feature', type: 'numeric', statistic: 'ks', above: 0.1, clear: 0.05, significance: DRIFT_SIGNIFICANCE, window: '*', severity: 'warning' }),
  rule({ name: 'feature-shape-drift', target: 'feature', type: 'numeric', statistic: 'shape', above: 0.25, clear: 0.125, significance: DRIFT_SIGNIFICANCE, window: '*', unless: 'feature-drift', severity: 'warning' }),
  rule({ name: 'category-drift', target: 'feature', type: 'categorical', statistic: 'linf', above: 0.05, clear: 0.025, significance: DRIFT_SIGNIFICANCE, window: '*', severity: 'warning' }),
  rule({ name: 'missing-values', target: 'feature', statistic: 'missing_rate_increase', above: 0.1, clear: 0.05, severity: 'warning', min_samples: 200 }),
  rule({ name: 'default-values', target: 'feature', statistic: 'default_rate_increase', above: 0.1, clear: 0.05, severity: 'warning', min_samples: 200 }),
  rule({ name: 'out-of-range', target: 'feature', type: 'numeric', statistic: 'out_of_range_rate', above: 0.05, clear: 0.02, severity: 'warning' }),
  rule({ name: 'new-categories', target: 'feature', type: 'categorical', statistic: 'new_category_rate', above: 0.05, clear: 0.02, severity: 'warning' }),
  rule({ name: 'prediction-drift', target: 'prediction', type: 'numeric', statistic: 'ks', above: 0.1, clear: 0.05, significance: DRIFT_SIGNIFICANCE, window: '*', severity: 'warning' }),
  rule({ name: 'prediction-band-drift', target: 'prediction', type: 'numeric', statistic: 'band_change', above: 0.25, clear: 0.125, significance: DRIFT_SIGNIFICANCE, window: '*', unless: 'prediction-drift', severity: 'warning' }),
  rule({ name: 'prediction-class-drift', target: 'prediction', type: 'categorical', statistic: 'linf', above: 0.05, clear: 0.025, significance: DRIFT_SIGNIFICANCE, window: '*', severity: 'warning' }),
  rule({ name: 'error-rate', target: 'model', statistic: 'error_rate', above: 0.05, clear: 0.02, severity: 'critical', min_samples: 200 }),
  rule({ name: 'latency-p99', target: 'model', statistic: 'latency_p99_ratio', above: 2, clear: 1.5, severity: 'warning', min_samples: 200 }),
];
