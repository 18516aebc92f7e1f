import { z } from 'zod';
import { FEATURE_STATISTICS, MODEL_STATISTICS, STATISTICS, type StatisticName } from '../evaluate/statistics.ts';
import { parseDuration } from './duration.ts';

export const durationSchema = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected a duration such as "30s", "5m", "1h", got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

const glob = z.string().min(1);

/**
 * A rule: which series it watches (target, value type, globs), which statistic, the threshold it fires
 * beyond (`above` or `below`), the line it clears back past (`clear`, hysteresis), how long the breach
 * must last (`for`), and how many samples the window needs before it may say anything.
 */
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
  window: z.string().min(1).optional(),
  match: z.object({ predictor: glob.default('*'), model: glob.default('*'), feature: glob.default('*') }).strict().default({}),
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
    enabled: z.boolean().optional(),
  })
  .strict();

export type Rule = z.output<typeof ruleSchema>;
export type RuleOverride = z.output<typeof overrideSchema>;

const rule = (fields: Record<string, unknown>) => fields;

/**
 * What everything seen is watched for with no configuration. Thresholds are effect sizes, chosen to be
 * far above the sampling noise of a window with `min_samples` values (PSI noise ≈ bins/n, KS noise ≈
 * 1.36/√n) so that stationary series stay quiet, and low enough that a 1σ mean shift, a doubled
 * category share or a jump in missing values, errors or latency crosses them within a minute or two.
 */
export const DEFAULT_RULES = [
  rule({ name: 'feature-drift', target: 'feature', type: 'numeric', statistic: 'psi', above: 0.2, clear: 0.1, severity: 'warning' }),
  rule({ name: 'category-drift', target: 'feature', type: 'categorical', statistic: 'linf', above: 0.1, clear: 0.05, severity: 'warning' }),
  rule({ name: 'missing-values', target: 'feature', statistic: 'missing_rate_increase', above: 0.1, clear: 0.05, severity: 'warning', min_samples: 200 }),
  rule({ name: 'default-values', target: 'feature', statistic: 'default_rate_increase', above: 0.1, clear: 0.05, severity: 'warning', min_samples: 200 }),
  rule({ name: 'out-of-range', target: 'feature', type: 'numeric', statistic: 'out_of_range_rate', above: 0.05, clear: 0.02, severity: 'warning' }),
  rule({ name: 'new-categories', target: 'feature', type: 'categorical', statistic: 'new_category_rate', above: 0.05, clear: 0.02, severity: 'warning' }),
  rule({ name: 'prediction-drift', target: 'prediction', type: 'numeric', statistic: 'psi', above: 0.2, clear: 0.1, severity: 'warning' }),
  rule({ name: 'prediction-class-drift', target: 'prediction', type: 'categorical', statistic: 'linf', above: 0.1, clear: 0.05, severity: 'warning' }),
  rule({ name: 'error-rate', target: 'model', statistic: 'error_rate', above: 0.05, clear: 0.02, severity: 'critical', min_samples: 200 }),
  rule({ name: 'latency-p99', target: 'model', statistic: 'latency_p99_ratio', above: 2, clear: 1.5, severity: 'warning', min_samples: 200 }),
];
