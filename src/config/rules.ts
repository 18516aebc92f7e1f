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
  window: z.string().min(1).optional(),
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

/**
 * What everything seen is watched for with no configuration. Drift rules pair an effect size with a
 * significance gate: KS ≥ 0.1 (a 1σ mean shift reaches it when a quarter of the window has moved, so
 * within ~40 s of the change in a 1-minute window) and p < 1e-6, which keeps 1,000 stationary series
 * quiet for hours even at `min_samples` (KS noise ≈ 1.36/√n at p = 0.05, ≈ 2.7/√n at p = 1e-6).
 * Categorical: a share moving by 5 points (a doubled 24 % share reaches it at a third of the window).
 * PSI, JS and Wasserstein are computed and exported for every feature; add rules on them as needed.
 */
export const DEFAULT_RULES = [
  rule({ name: 'feature-drift', target: 'feature', type: 'numeric', statistic: 'ks', above: 0.1, clear: 0.05, significance: 1e-6, severity: 'warning' }),
  rule({ name: 'category-drift', target: 'feature', type: 'categorical', statistic: 'linf', above: 0.05, clear: 0.025, significance: 1e-6, severity: 'warning' }),
  rule({ name: 'missing-values', target: 'feature', statistic: 'missing_rate_increase', above: 0.1, clear: 0.05, severity: 'warning', min_samples: 200 }),
  rule({ name: 'default-values', target: 'feature', statistic: 'default_rate_increase', above: 0.1, clear: 0.05, severity: 'warning', min_samples: 200 }),
  rule({ name: 'out-of-range', target: 'feature', type: 'numeric', statistic: 'out_of_range_rate', above: 0.05, clear: 0.02, severity: 'warning' }),
  rule({ name: 'new-categories', target: 'feature', type: 'categorical', statistic: 'new_category_rate', above: 0.05, clear: 0.02, severity: 'warning' }),
  rule({ name: 'prediction-drift', target: 'prediction', type: 'numeric', statistic: 'ks', above: 0.1, clear: 0.05, significance: 1e-6, severity: 'warning' }),
  rule({ name: 'prediction-class-drift', target: 'prediction', type: 'categorical', statistic: 'linf', above: 0.05, clear: 0.025, significance: 1e-6, severity: 'warning' }),
  rule({ name: 'error-rate', target: 'model', statistic: 'error_rate', above: 0.05, clear: 0.02, severity: 'critical', min_samples: 200 }),
  rule({ name: 'latency-p99', target: 'model', statistic: 'latency_p99_ratio', above: 2, clear: 1.5, severity: 'warning', min_samples: 200 }),
];
