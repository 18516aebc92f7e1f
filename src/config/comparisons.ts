import { z } from 'zod';
import { COMPARISON_STATISTICS, type ComparisonSettings, type ComparisonStatistic } from '../evaluate/comparison-model.ts';
import { durationSchema } from './rules.ts';

/**
 * The `comparisons` section of a topology: how shadow and canary models are judged against their
 * predictor's primary (docs/comparisons.md). Also accepted as a bare list of pinned pairs.
 */

const glob = z.string().min(1);

const comparisonRule = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected lower-case letters, digits and _ . -'),
    statistic: z.enum(COMPARISON_STATISTICS as unknown as [ComparisonStatistic, ...ComparisonStatistic[]]),
    above: z.number().optional(),
    below: z.number().optional(),
    min_samples: z.number().int().nonnegative().default(200),
    for: durationSchema.default('0s'),
    match: z
      .object({ predictor: glob.default('*'), model: glob.default('*'), role: z.enum(['*', 'shadow', 'canary']).default('*') })
      .strict()
      .default({}),
    enabled: z.boolean().default(true),
  })
  .strict()
  .refine((rule) => (rule.above === undefined) !== (rule.below === undefined), { message: 'expected exactly one of "above" or "below"' });

const pin = z.object({ predictor: z.string().min(1), baseline_model: z.string().min(1), candidate_model: glob.default('*') }).strict();

const positiveDuration = durationSchema.refine((ms) => ms > 0, 'expected a positive duration');

export const comparisonsSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { pins: value } : value),
  z
    .object({
      enabled: z.boolean().default(true),
      alpha: z.number().gt(0).lt(0.5).default(0.05),
      metric: z.enum(['auto', 'accuracy', 'mae']).default('auto'),
      accuracy_margin: z.number().gt(0).lt(1).default(0.02),
      mae_margin: z.number().gt(0).default(0.05),
      min_samples: z.number().int().positive().default(200),
      window: positiveDuration.default('5m'),
      min_duration: durationSchema.default('30m'),
      max_duration: positiveDuration.default('24h'),
      promote: z.boolean().default(true),
      pair_ttl: positiveDuration.default('10m'),
      audit_ttl: positiveDuration.default('90d'),
      /** Baselines pinned per predictor (and candidate glob); the busiest primary otherwise. */
      pins: z.array(pin).default([]),
      /** Include the built-in guard-rails (error rate, p99 latency). */
      builtin_rules: z.boolean().default(true),
      /** More guard-rails; one with a built-in's name replaces it. */
      rules: z.array(comparisonRule).default([]),
    })
    .strict(),
);

/** Guard-rails that apply to every candidate unless replaced (same name) or turned off. */
export const DEFAULT_COMPARISON_RULES = [
  // Sequential: rolled back once its error rate is more than 1 point above the baseline's, with confidence.
  { name: 'error-rate', statistic: 'error_rate_difference', above: 0.01 },
  // Point estimate over the current window, held for a minute.
  { name: 'latency-p99', statistic: 'latency_p99_ratio', above: 2, for: '1m' },
] as const;

/** The settings in force: built-in guard-rails (unless off) with same-named rules of the topology replacing them. */
export function comparisonSettings(parsed: z.output<typeof comparisonsSchema>): ComparisonSettings {
  const byName = new Map<string, z.output<typeof comparisonRule>>();
  if (parsed.builtin_rules) for (const rule of DEFAULT_COMPARISON_RULES) byName.set(rule.name, comparisonRule.parse(rule));
  for (const rule of parsed.rules) byName.set(rule.name, rule);
  const { builtin_rules: _builtin, rules: _rules, ...rest } = parsed;
  return { ...rest, rules: [...byName.values()] };
}
