import type { ModelSummary, PairStats, PerformanceSummary } from '../aggregate/index.ts';
import {
  meanContrast,
  meanInterval,
  mixtureTau2,
  proportionContrast,
  proportionInterval,
  samplesFactorToRadius,
  type Interval,
  type MeanStats,
  type ProportionStats,
} from '../stats/confidence-sequence.ts';
import { compareValues } from './compare-values.ts';
import { SEQUENTIAL_STATISTICS, type CandidateRole, type ComparisonRule, type ComparisonSettings, type ComparisonStatistic } from './comparison-model.ts';
import { formatDuration } from './duration.ts';

/**
 * One tick of a shadow/canary comparison: the candidate's statistics against its baseline's, its
 * guard-rails, and the decision — rollback when it is worse by more than the margin with confidence
 * 1 − α (an always-valid confidence sequence, so looking every tick costs nothing) or a guard-rail
 * breaks; promote when it is not worse by more than the margin, after the minimum duration and
 * samples, with every guard-rail holding. Pure: everything read from Redis comes in, `now` too.
 * docs/comparisons.md has the math.
 */

export interface Counts {
  count: number;
  errors: number;
}

/** What a comparison keeps between ticks (in Redis, with its last result, for status). */
export interface ComparisonProgress {
  baseline: string;
  baseline_model: string;
  started_at: number;
  /** Labelled and paired evidence counts from here: the coarse bucket the comparison started in. */
  anchor: number;
  /** Exact totals of both models when the comparison started: error rates count what came since. */
  snapshot: { candidate: Counts; baseline: Counts };
  /** Point-estimate guard-rails in breach: rule → since. */
  breaches: Record<string, number>;
}

export interface ComparisonInput {
  predictor: string;
  candidate: { model: string; role: CandidateRole };
  baseline: { key: string; model: string };
  now: number;
  progress: ComparisonProgress;
  settings: ComparisonSettings;
  /** The rules that apply to this candidate (matched by the caller). */
  rules: readonly ComparisonRule[];
  /** max_duration, shortened to what the coarse buckets keep. */
  maxDurationMs: number;
  /** Exact totals now, since monitoring began. */
  totals: { candidate: Counts; baseline: Counts };
  /** Performance of each model's labelled predictions made since the anchor. */
  performance?: { candidate: PerformanceSummary; baseline: PerformanceSummary } | undefined;
  /** The candidate's predictions paired with the baseline's since the anchor. */
  pairs?: PairStats | undefined;
  /** Both models over the current window. */
  window: { name: string; candidate: ModelSummary; baseline: ModelSummary };
}

/** One statistic: its estimate, its confidence sequence when it has one, and what it rests on. */
export interface Reading {
  value: number;
  lower?: number;
  upper?: number;
  /** Samples on the thinner side (labels, predictions, latency samples, values or pairs). */
  samples: number;
  candidate?: number;
  baseline?: number;
}

export type RuleState = 'ok' | 'undecided' | 'pending' | 'breached' | 'insufficient' | 'unknown';

export interface RuleReading {
  name: string;
  statistic: ComparisonStatistic;
  direction: 'above' | 'below';
  threshold: number;
  state: RuleState;
  since?: number;
}

export interface Decision {
  decision: 'promote' | 'rollback';
  /** What decided: the metric's name (accuracy, mae) or the guard-rail's. */
  trigger: string;
  reason: string;
}

export interface ComparisonResult {
  state: 'running' | 'rollback' | 'promote' | 'expired';
  statistics: Partial<Record<ComparisonStatistic, Reading>>;
  /** The labelled metric that decides, when the candidate has labels. */
  metric: { name: 'accuracy' | 'mae'; statistic: ComparisonStatistic; margin: number; samples: { candidate: number; baseline: number } } | null;
  rules: RuleReading[];
  /** The error rate of each sequential test (α split over the tests that may decide). */
  alphaPerTest: number;
  progress: ComparisonProgress;
  decision: Decision | null;
  /** When the metric's sequence would decide at the current estimate and sample rate. */
  eta: { towards: 'promote' | 'rollback'; seconds: number } | null;
}

/** Confidence sequences of one-sample statistics are tuned for effects of this size when no rule names one. */
const DEFAULT_WIDTH: Partial<Record<ComparisonStatistic, number>> = { agreement: 0.05, error_rate_difference: 0.01 };

function accuracyStats(performance: PerformanceSummary): ProportionStats {
  let correct = 0;
  for (const [actual, row] of performance.confusion) correct += row.get(actual) ?? 0;
  return { n: performance.classified, successes: correct };
}

const absoluteErrors = (performance: PerformanceSummary): MeanStats => ({ n: performance.regressionCount, sum: performance.sumAbsError, sumSquares: performance.sumSquaredError });

const since = (now: Counts, then: Counts): ProportionStats => ({ n: Math.max(0, now.count - then.count), successes: Math.max(0, now.errors - then.errors) });

const read = (interval: Interval, samples: number, candidate?: number, baseline?: number): Reading => ({
  value: interval.estimate,
  lower: interval.lower,
  upper: interval.upper,
  samples,
  ...(candidate !== undefined && Number.isFinite(candidate) ? { candidate } : {}),
  ...(baseline !== undefined && Number.isFinite(baseline) ? { baseline } : {}),
});

/** The decision metric: accuracy for classifiers, MAE for regressors (or as configured), when the candidate has labels. */
function metricOf(settings: ComparisonSettings, performance: ComparisonInput['performance']): 'accuracy' | 'mae' | null {
  if (!performance) return null;
  const { candidate } = performance;
  if (settings.metric === 'accuracy') return candidate.classified > 0 ? 'accuracy' : null;
  if (settings.metric === 'mae') return candidate.regressionCount > 0 ? 'mae' : null;
  if (candidate.classified > 0) return 'accuracy';
  return candidate.regressionCount > 0 ? 'mae' : null;
}

/** The threshold's distance from "no difference": the effect size a rule's sequence is tuned for. */
function ruleWidth(rule: ComparisonRule): number {
  const threshold = (rule.above ?? rule.below)!;
  if (rule.statistic === 'agreement') return Math.max(1e-3, 1 - threshold);
  return Math.max(1e-6, Math.abs(threshold));
}

export function evaluateComparison(input: ComparisonInput): ComparisonResult {
  const { settings, now, progress, window } = input;
  const sequentialRules = input.rules.filter((rule) => SEQUENTIAL_STATISTICS.has(rule.statistic));
  // α is split over the sequential tests that may decide (Bonferroni): the metric and each such rule.
  const alpha = settings.alpha / (1 + sequentialRules.length);
  const width = (statistic: ComparisonStatistic, fallback: number) => {
    const rule = sequentialRules.find((r) => r.statistic === statistic);
    return rule ? ruleWidth(rule) : (DEFAULT_WIDTH[statistic] ?? fallback);
  };
  const statistics: ComparisonResult['statistics'] = {};

  // Labelled metrics, on each model's own labelled predictions since the anchor.
  const metric = metricOf(settings, input.performance);
  let metricInterval: Interval | undefined;
  let metricSamples = { candidate: 0, baseline: 0 };
  let metricMargin = 0;
  if (input.performance) {
    const { candidate, baseline } = input.performance;
    const a = accuracyStats(candidate);
    const b = accuracyStats(baseline);
    if (a.n > 0 && b.n > 0) {
      const tau2 = mixtureTau2(settings.accuracy_margin, alpha);
      statistics.accuracy_difference = read(proportionContrast(a, b, 1, tau2, alpha), Math.min(a.n, b.n), a.successes / a.n, b.successes / b.n);
      if (metric === 'accuracy') {
        metricInterval = proportionContrast(a, b, 1, tau2, alpha);
        metricSamples = { candidate: a.n, baseline: b.n };
        metricMargin = settings.accuracy_margin;
      }
    }
    const ea = absoluteErrors(candidate);
    const eb = absoluteErrors(baseline);
    if (ea.n > 1 && eb.n > 1) {
      const baselineMae = eb.sum / eb.n;
      const margin = settings.mae_margin * baselineMae;
      const tau2 = mixtureTau2(Math.max(margin, 1e-12), alpha);
      statistics.mae_difference = read(meanContrast(ea, eb, 1, tau2, alpha), Math.min(ea.n, eb.n), ea.sum / ea.n, baselineMae);
      if (metric === 'mae') {
        // Worse by more than the margin ⇔ MAE_c − (1 + r)·MAE_b > 0: one contrast, tested against 0.
        metricInterval = meanContrast(ea, eb, 1 + settings.mae_margin, tau2, alpha);
        metricSamples = { candidate: ea.n, baseline: eb.n };
        metricMargin = margin;
      }
    }
    const mc = candidate.metrics();
    const mb = baseline.metrics();
    const difference = (name: 'log_loss' | 'rmse' | 'auc', statistic: ComparisonStatistic, samples: number) => {
      const c = mc[name];
      const b2 = mb[name];
      if (c !== undefined && b2 !== undefined) statistics[statistic] = { value: c - b2, samples, candidate: c, baseline: b2 };
    };
    difference('log_loss', 'log_loss_difference', Math.min(candidate.logLossCount, baseline.logLossCount));
    difference('rmse', 'rmse_difference', Math.min(ea.n, eb.n));
    difference('auc', 'auc_difference', Math.min(candidate.logLossCount, baseline.logLossCount));
  }

  // Error rates: every prediction since the comparison started, exact.
  const errorsC = since(input.totals.candidate, progress.snapshot.candidate);
  const errorsB = since(input.totals.baseline, progress.snapshot.baseline);
  if (errorsC.n > 0 && errorsB.n > 0) {
    const interval = proportionContrast(errorsC, errorsB, 1, mixtureTau2(width('error_rate_difference', 0.01), alpha), alpha);
    statistics.error_rate_difference = read(interval, Math.min(errorsC.n, errorsB.n), errorsC.successes / errorsC.n, errorsB.successes / errorsB.n);
  }

  // The current window: latency and the distribution of predictions.
  const latencyC = window.candidate.latency;
  const latencyB = window.baseline.latency;
  if (latencyC.count > 0 && latencyB.count > 0) {
    const samples = Math.min(latencyC.count, latencyB.count);
    for (const [statistic, q] of [['latency_p50_ratio', 0.5], ['latency_p99_ratio', 0.99]] as const) {
      const c = latencyC.quantile(q);
      const b = latencyB.quantile(q);
      if (b > 0) statistics[statistic] = { value: c / b, samples, candidate: c, baseline: b };
    }
  }
  const drift = compareValues(window.candidate.prediction, window.baseline.prediction, window.candidate.count - window.candidate.errors, window.baseline.count - window.baseline.errors);
  const driftSamples = Math.min(drift.samples, drift.referenceSamples);
  for (const [statistic, name] of [['prediction_ks', 'ks'], ['prediction_psi', 'psi'], ['prediction_js', 'js'], ['prediction_linf', 'linf']] as const) {
    const value = drift.values[name];
    if (value !== undefined && Number.isFinite(value)) statistics[statistic] = { value, samples: driftSamples };
  }

  // Paired predictions: the same requests, answered by both.
  const pairs = input.pairs;
  if (pairs && pairs.classPairs > 0) {
    statistics.agreement = read(proportionInterval({ n: pairs.classPairs, successes: pairs.agree }, mixtureTau2(width('agreement', 0.05), alpha), alpha), pairs.classPairs);
  }
  if (pairs && pairs.numeric > 1) {
    const stats: MeanStats = { n: pairs.numeric, sum: pairs.sumAbs, sumSquares: pairs.sumSquares };
    const mad = pairs.sumAbs / pairs.numeric;
    statistics.mean_abs_difference = read(meanInterval(stats, mixtureTau2(width('mean_abs_difference', Math.max(mad, 1e-9)), alpha), alpha), pairs.numeric);
    const rho = pairs.rankCorrelation();
    if (rho !== undefined) statistics.rank_correlation = { value: rho, samples: pairs.hashes.length };
  }

  // Guard-rails.
  const breaches: Record<string, number> = {};
  const rules = input.rules.map((rule): RuleReading => {
    const direction = rule.above !== undefined ? 'above' : 'below';
    const threshold = (rule.above ?? rule.below)!;
    const base = { name: rule.name, statistic: rule.statistic, direction, threshold } as const;
    const reading = statistics[rule.statistic];
    if (!reading || !Number.isFinite(reading.value)) return { ...base, state: 'unknown' };
    if (reading.samples < Math.max(rule.min_samples, SEQUENTIAL_STATISTICS.has(rule.statistic) ? settings.min_samples : 0)) return { ...base, state: 'insufficient' };
    if (SEQUENTIAL_STATISTICS.has(rule.statistic)) {
      const breached = direction === 'above' ? reading.lower! > threshold : reading.upper! < threshold;
      const healthy = direction === 'above' ? reading.upper! <= threshold : reading.lower! >= threshold;
      return { ...base, state: breached ? 'breached' : healthy ? 'ok' : 'undecided' };
    }
    const over = direction === 'above' ? reading.value > threshold : reading.value < threshold;
    if (!over) return { ...base, state: 'ok' };
    const from = progress.breaches[rule.name] ?? now;
    breaches[rule.name] = from;
    return { ...base, state: now - from >= rule.for ? 'breached' : 'pending', since: from };
  });

  const result: ComparisonResult = {
    state: 'running',
    statistics,
    metric: metric && metricInterval ? { name: metric, statistic: metric === 'accuracy' ? 'accuracy_difference' : 'mae_difference', margin: metricMargin, samples: metricSamples } : null,
    rules,
    alphaPerTest: alpha,
    progress: { ...progress, breaches },
    decision: null,
    eta: null,
  };
  const elapsed = now - progress.started_at;
  if (elapsed > input.maxDurationMs) return { ...result, state: 'expired' };

  // The metric, in "how much worse" orientation: accuracy falls, MAE rises.
  const enoughLabels = metricSamples.candidate >= settings.min_samples && metricSamples.baseline >= settings.min_samples;
  let metricWorse = false;
  let metricFine = false;
  if (metric && metricInterval && enoughLabels) {
    metricWorse = metric === 'accuracy' ? metricInterval.upper < -metricMargin : metricInterval.lower > 0;
    metricFine = metric === 'accuracy' ? metricInterval.lower > -metricMargin : metricInterval.upper < 0;
  }
  const who = `${input.candidate.role} ${input.predictor}/${input.candidate.model}`;
  if (metricWorse) {
    return { ...result, state: 'rollback', decision: { decision: 'rollback', trigger: metric!, reason: metricReason(who, input, result, alpha) } };
  }
  const broken = rules.find((rule) => rule.state === 'breached');
  if (broken) {
    return { ...result, state: 'rollback', decision: { decision: 'rollback', trigger: broken.name, reason: ruleReason(who, input, broken, statistics[broken.statistic]!, alpha) } };
  }

  const candidatePredictions = errorsC.n;
  const rulesHold = rules.every((rule) => rule.state === 'ok' || rule.state === 'unknown');
  const metricHolds = metric === null || metricFine;
  if (settings.promote && elapsed >= settings.min_duration && candidatePredictions >= settings.min_samples && metricHolds && rulesHold) {
    return { ...result, state: 'promote', decision: { decision: 'promote', trigger: metric ?? 'guard-rails', reason: promoteReason(who, input, result, elapsed, alpha) } };
  }
  result.eta = eta(input, metric, metricInterval, metricSamples, metricMargin, alpha, elapsed);
  return result;
}

/** At the current estimate and sample rate, when the metric's sequence would cross into a decision. */
function eta(
  input: ComparisonInput,
  metric: 'accuracy' | 'mae' | null,
  interval: Interval | undefined,
  samples: { candidate: number; baseline: number },
  margin: number,
  alpha: number,
  elapsed: number,
): ComparisonResult['eta'] {
  if (!metric || !interval || !Number.isFinite(interval.estimate) || elapsed <= 0 || samples.candidate === 0) return null;
  const { settings } = input;
  // The distance from the estimate to the boundary the estimate lies beyond decides which way it goes.
  const towards = metric === 'accuracy' ? (interval.estimate < -margin ? 'rollback' : 'promote') : interval.estimate > 0 ? 'rollback' : 'promote';
  const needed = metric === 'accuracy' ? Math.abs(interval.estimate + margin) : Math.abs(interval.estimate);
  const tau2 = metric === 'accuracy' ? mixtureTau2(settings.accuracy_margin, alpha) : mixtureTau2(Math.max(margin, 1e-12), alpha);
  let factor = samplesFactorToRadius(interval.variance, needed, tau2, alpha);
  factor = Math.max(factor, settings.min_samples / samples.candidate, settings.min_samples / Math.max(1, samples.baseline));
  if (!Number.isFinite(factor)) return null;
  // Samples grow with time since the start: factor × the samples so far takes factor × the time so far.
  let seconds = ((factor - 1) * elapsed) / 1000;
  if (towards === 'promote') seconds = Math.max(seconds, (settings.min_duration - elapsed) / 1000);
  return { towards, seconds: Math.max(0, Math.round(seconds)) };
}

const pct = (value: number): string => `${(value * 100).toFixed(1)}%`;
const points = (value: number): string => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`;
const num = (value: number): string => (Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(3));
const confidence = (alpha: number): string => `${+((1 - alpha) * 100).toFixed(2)}%`;

function metricSentence(input: ComparisonInput, result: ComparisonResult): string {
  const metric = result.metric!;
  const reading = result.statistics[metric.statistic]!;
  const base = input.baseline.model;
  if (metric.name === 'accuracy') {
    return `accuracy ${pct(reading.candidate!)} vs ${pct(reading.baseline!)} for ${base} (difference ${points(reading.value)} points, confidence sequence [${points(reading.lower!)}, ${points(reading.upper!)}])`;
  }
  return `MAE ${num(reading.candidate!)} vs ${num(reading.baseline!)} for ${base} (difference ${num(reading.value)}, confidence sequence [${num(reading.lower!)}, ${num(reading.upper!)}])`;
}

function marginText(result: ComparisonResult, input: ComparisonInput): string {
  const metric = result.metric!;
  return metric.name === 'accuracy' ? `${+(metric.margin * 100).toFixed(2)}-point margin` : `margin of ${+(input.settings.mae_margin * 100).toFixed(1)}% of the baseline's MAE`;
}

function metricReason(who: string, input: ComparisonInput, result: ComparisonResult, alpha: number): string {
  const { samples } = result.metric!;
  return `${who}: ${metricSentence(input, result)} is worse than the ${marginText(result, input)} with ${confidence(alpha)} confidence, after ${samples.candidate.toLocaleString('en-US')} labelled predictions (${samples.baseline.toLocaleString('en-US')} for the baseline).`;
}

const STATISTIC_LABELS: Partial<Record<ComparisonStatistic, string>> = {
  error_rate_difference: 'error rate minus the baseline\'s',
  agreement: 'agreement with the baseline on the same requests',
  mean_abs_difference: 'mean absolute difference from the baseline on the same requests',
  latency_p99_ratio: 'p99 latency ratio to the baseline',
  latency_p50_ratio: 'median latency ratio to the baseline',
};

function ruleReason(who: string, input: ComparisonInput, rule: RuleReading, reading: Reading, alpha: number): string {
  const label = STATISTIC_LABELS[rule.statistic] ?? rule.statistic.replace(/_/g, ' ');
  const rate = rule.statistic === 'agreement' || rule.statistic.endsWith('rate_difference') || rule.statistic === 'accuracy_difference';
  const show = (value: number) => (rate ? pct(value) : num(value));
  const bound =
    reading.lower !== undefined
      ? ` (${rule.direction === 'above' ? `at least ${show(reading.lower)}` : `at most ${show(reading.upper!)}`} with ${confidence(alpha)} confidence)`
      : rule.since !== undefined && rule.since < input.now
        ? ` for ${formatDuration(Math.max(1000, Math.round((input.now - rule.since) / 1000) * 1000))}`
        : '';
  return `${who}: ${label} is ${show(reading.value)}${bound}, ${rule.direction} the "${rule.name}" guard-rail's ${show(rule.threshold)}, over ${reading.samples.toLocaleString('en-US')} samples.`;
}

function promoteReason(who: string, input: ComparisonInput, result: ComparisonResult, elapsed: number, alpha: number): string {
  // Seconds under ten minutes, whole minutes above: "51s", "31m".
  const duration = formatDuration(elapsed < 600_000 ? Math.max(1000, Math.round(elapsed / 1000) * 1000) : Math.round(elapsed / 60_000) * 60_000);
  if (!result.metric) return `${who} held every guard-rail against ${input.baseline.model} for ${duration} (no labelled metric to compare).`;
  return `${who}: ${metricSentence(input, result)} is not worse than the ${marginText(result, input)} with ${confidence(alpha)} confidence, after ${duration} and ${result.metric.samples.candidate.toLocaleString('en-US')} labelled predictions; every guard-rail holds.`;
}

/** The evidence behind a result, flat: statistic → value, with bounds, sample sizes and settings. */
export function comparisonEvidence(result: ComparisonResult, input: Pick<ComparisonInput, 'now' | 'progress' | 'settings'>): Record<string, number> {
  const evidence: Record<string, number> = {
    alpha: input.settings.alpha,
    alpha_per_test: result.alphaPerTest,
    duration_s: Math.round((input.now - input.progress.started_at) / 1000),
  };
  if (result.metric) {
    evidence['margin'] = result.metric.margin;
    evidence['candidate.labeled'] = result.metric.samples.candidate;
    evidence['baseline.labeled'] = result.metric.samples.baseline;
  }
  for (const [name, reading] of Object.entries(result.statistics)) {
    if (!Number.isFinite(reading.value)) continue;
    evidence[name] = reading.value;
    for (const key of ['lower', 'upper', 'candidate', 'baseline', 'samples'] as const) {
      const value = reading[key];
      if (value !== undefined && Number.isFinite(value)) evidence[`${name}.${key}`] = value;
    }
  }
  return evidence;
}
