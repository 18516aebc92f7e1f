import { classify, type Observation } from './alert-machine.ts';
import type { ValueComparison } from './compare-values.ts';
import { globToRegExp, type ResolvedRule } from './rules.ts';
import { PERFORMANCE_STATISTICS, type FeatureStatistic, type StatisticName } from './statistics.ts';

/** One current window's reading of a rule's statistic on one series. */
export interface WindowReading {
  window: string;
  value: number | undefined;
  samples: number;
  referenceSamples: number;
  /** The p-value of the rule's test in this window (drift rules with a significance gate). */
  pValue?: number | undefined;
}

export interface Judgement {
  observation: Observation;
  /** The window that decided: the breaching one, else the most extreme one with enough samples. */
  reading: WindowReading | undefined;
}

/** Statistics that compare with the reference need enough reference samples too. */
export const needsReference = (statistic: StatisticName): boolean =>
  !PERFORMANCE_STATISTICS.has(statistic) &&
  !['count', 'throughput', 'error_rate', 'missing_rate', 'default_rate', 'latency_p50', 'latency_p90', 'latency_p95', 'latency_p99'].includes(statistic);

/**
 * The p-value statistic that gates a drift rule (its `significance`): Anderson–Darling for the shape
 * statistics (it weighs the tails, where a change of spread shows), χ² for categorical series, KS for
 * the other numeric distances.
 */
export function significanceTest(statistic: StatisticName, type: 'numeric' | 'categorical' | 'unknown'): 'ks_p' | 'ad_p' | 'chi2_p' | undefined {
  if (type === 'categorical') return 'chi2_p';
  if (type !== 'numeric') return undefined;
  return statistic === 'shape' || statistic === 'band_change' ? 'ad_p' : 'ks_p';
}

const RATE_STATISTICS: ReadonlySet<StatisticName> = new Set(['missing_rate', 'missing_rate_increase', 'default_rate', 'default_rate_increase']);

/** What a feature or prediction rule reads in one window's statistics; undefined when the rule is for the other value type. */
export function seriesReading(rule: ResolvedRule, window: string, statistics: ValueComparison): WindowReading | undefined {
  if (rule.type !== 'any' && rule.type !== statistics.type) return undefined;
  const statistic = rule.statistic as FeatureStatistic;
  // A feature that goes 100 % missing has no values left: rates are judged on the model's events.
  const rate = RATE_STATISTICS.has(statistic);
  const test = significanceTest(statistic, statistics.type);
  return {
    window,
    value: statistics.values[statistic],
    samples: rate ? statistics.events : statistics.samples,
    referenceSamples: rate ? statistics.referenceEvents : statistics.referenceSamples,
    pValue: test === undefined ? undefined : statistics.values[test],
  };
}

const windowGlobs = new Map<string, RegExp>();

/** The current windows a rule reads: those its `window` glob matches, the first window by default. */
export function ruleWindows<T extends { name: string }>(rule: { window?: string | undefined }, windows: readonly T[]): T[] {
  if (rule.window === undefined) return windows.slice(0, 1);
  let pattern = windowGlobs.get(rule.window);
  if (!pattern) windowGlobs.set(rule.window, (pattern = globToRegExp(rule.window)));
  const matched = windows.filter((window) => pattern.test(window.name));
  return matched.length > 0 ? matched : windows.slice(0, 1);
}

/**
 * Where a rule stands over the windows it reads, as one observation for the alert state machine:
 * - a window breaches when it has enough samples (`min_samples`, on the reference side too where the
 *   statistic compares with it), its value is beyond the threshold and, with a `significance`, its test
 *   says so at that level;
 * - the rule breaches when any window breaches: evidence is read at every time scale at once, so a large
 *   change fires from the short window within a tick and a small one from the long window later;
 * - it clears only when every window with enough samples is back past the clear line, so the short
 *   window's noise cannot resolve an incident the long window still sees (nor fire it again next tick);
 * - no window with enough samples: insufficient, which decides nothing.
 * The family of tests this makes (every tick × window × rule) is what the significance is calibrated
 * for: docs/detection.md.
 */
export function judge(rule: ResolvedRule, readings: readonly WindowReading[]): Judgement {
  const reference = needsReference(rule.statistic);
  const worse = (a: number, b: number) => (rule.direction === 'above' ? a > b : a < b);
  let breach: WindowReading | undefined;
  let extreme: WindowReading | undefined;
  let allClear = true;
  for (const reading of readings) {
    const { value } = reading;
    const enough = reading.samples >= rule.min_samples && (!reference || reading.referenceSamples >= rule.min_samples);
    if (value === undefined || !Number.isFinite(value) || !enough) continue;
    let kind = classify(value, rule.direction, rule.threshold, rule.clearAt).kind;
    // The significance gate: a breach must also be unlikely under "no change".
    if (kind === 'breach' && rule.significance !== undefined && !(reading.pValue !== undefined && reading.pValue < rule.significance)) kind = 'band';
    if (kind === 'breach' && (!breach || worse(value, breach.value!))) breach = reading;
    if (kind !== 'clear') allClear = false;
    if (!extreme || worse(value, extreme.value!)) extreme = reading;
  }
  if (breach) return { observation: { kind: 'breach', value: breach.value! }, reading: breach };
  if (!extreme) return { observation: { kind: 'insufficient' }, reading: undefined };
  return { observation: { kind: allClear ? 'clear' : 'band', value: extreme.value! }, reading: extreme };
}
