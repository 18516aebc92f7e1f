import type { ModelSummary, PerformanceSummary, ValueSummary } from '../aggregate/index.ts';
import { buildAlertEvent, incidentId, PREDICTION_SERIES, type AlertEvent } from './alert-event.ts';
import { OK_STATE, step, type AlertState } from './alert-machine.ts';
import { compareValues, type ValueComparison, type WantedStatistics } from './compare-values.ts';
import { judge, ruleWindows, seriesReading, significanceTest, type WindowReading } from './judge.ts';
import type { ResolvedRule, RuleBook } from './rules.ts';
import { PERFORMANCE_STATISTICS, type FeatureStatistic, type StatisticName } from './statistics.ts';

export interface WindowSummary {
  name: string;
  summary: ModelSummary;
  /** The span the summary covers, for throughput. */
  seconds: number;
  /** Labels joined to the predictions made in the window (absent when labels are off). */
  performance?: PerformanceSummary | undefined;
}

export interface EvaluationInput {
  predictor: string;
  model: string;
  /** The model's role now (rules may match it); primary when absent. */
  role?: string;
  features: readonly string[];
  windows: readonly WindowSummary[];
  reference: ModelSummary | null;
  /** "baseline" or "rolling 24h": named in alert events. */
  referenceLabel: string;
  rules: RuleBook;
  states: ReadonlyMap<string, AlertState>;
  now: number;
  /** Share of predictions kept for the label join (topology labels.sample_rate): label coverage is of those. */
  labelSampleRate?: number;
}

export interface SeriesStatistics extends ValueComparison {
  window: string;
}

export interface ModelStatistics {
  window: string;
  samples: number;
  referenceSamples: number;
  values: Partial<Record<StatisticName, number>>;
}

export interface AlertChange {
  field: string;
  state: AlertState | null;
  event: AlertEvent | null;
}

export interface EvaluationResult {
  model: ModelStatistics[];
  prediction: SeriesStatistics[];
  features: Map<string, SeriesStatistics[]>;
  changes: AlertChange[];
  /** Alerts pending or firing after this evaluation, keyed by state field. */
  active: Map<string, { rule: ResolvedRule; state: AlertState; feature: string | null }>;
}

export { PERFORMANCE_STATISTICS } from './statistics.ts';

/** Predictions in the window a label can be joined to: succeeded, with a value. */
export const labelablePredictions = (summary: ModelSummary): number => summary.prediction.logged - summary.prediction.nulls;

/** label_coverage = labeled / (labelable predictions × sample rate), the share of joinable predictions labeled. */
export function performanceStatistics(performance: PerformanceSummary, predicted: number, sampleRate = 1): ModelStatistics['values'] {
  const metrics = performance.metrics();
  const values: ModelStatistics['values'] = {};
  for (const name of ['accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'log_loss', 'auc', 'mae', 'rmse', 'bias'] as const) {
    const value = metrics[name];
    if (value !== undefined) values[name] = value;
  }
  if (predicted > 0 && sampleRate > 0) values.label_coverage = performance.labeled / (predicted * sampleRate);
  return values;
}

function modelStatistics(window: WindowSummary, reference: ModelSummary | null, sampleRate = 1): ModelStatistics {
  const current = window.summary;
  const values: ModelStatistics['values'] = { count: current.count };
  if (window.seconds > 0) values.throughput = current.count / window.seconds;
  if (current.count > 0) {
    values.error_rate = current.errors / current.count;
    if (reference && reference.count > 0) values.error_rate_increase = values.error_rate - reference.errors / reference.count;
  }
  if (current.latency.count > 0) {
    values.latency_p50 = current.latency.quantile(0.5);
    values.latency_p90 = current.latency.quantile(0.9);
    values.latency_p95 = current.latency.quantile(0.95);
    values.latency_p99 = current.latency.quantile(0.99);
    if (reference && reference.latency.count > 0) {
      const referenceP99 = reference.latency.quantile(0.99);
      if (referenceP99 > 0) values.latency_p99_ratio = values.latency_p99 / referenceP99;
    }
  }
  if (window.performance) Object.assign(values, performanceStatistics(window.performance, labelablePredictions(current), sampleRate));
  return { window: window.name, samples: current.count, referenceSamples: reference?.count ?? 0, values };
}

/**
 * Model-level rules count events; latency rules count latency samples; performance rules count the
 * labeled predictions of the window (label coverage: the predictions it is a share of).
 */
function modelSamples(statistic: StatisticName, window: WindowSummary, reference: ModelSummary | null): [number, number] {
  if (statistic.startsWith('latency')) return [window.summary.latency.count, reference?.latency.count ?? 0];
  if (statistic === 'label_coverage') return [labelablePredictions(window.summary), 0];
  if (PERFORMANCE_STATISTICS.has(statistic)) return [window.performance?.labeled ?? 0, 0];
  return [window.summary.count, reference?.count ?? 0];
}

const statisticsReadCache = new WeakMap<readonly ResolvedRule[], Map<string, WantedStatistics>>();

/**
 * The statistics a series' rules read in one window (with their significance tests), and the fewest
 * samples any of them needs. Every statistic is computed for the first window, which status and metrics
 * show; the others only serve rules, and what no rule reads there — or a window too small for all of
 * them, like 10 seconds of a model that logs 10 events a second — is not computed (the 10-second window
 * doubled a tick's statistics). Remembered per rule list (RuleBook shares one between series with the
 * same rules) and window.
 */
function statisticsRead(rules: readonly ResolvedRule[], windows: readonly { name: string }[], windowsKey: string, index: number): WantedStatistics {
  let byWindow = statisticsReadCache.get(rules);
  if (!byWindow) statisticsReadCache.set(rules, (byWindow = new Map()));
  const key = `${index}\u0000${windowsKey}`;
  let read = byWindow.get(key);
  if (!read) {
    const set = new Set<FeatureStatistic>();
    let minSamples = Number.POSITIVE_INFINITY;
    for (const rule of rules) {
      if (!ruleWindows(rule, windows).includes(windows[index]!)) continue;
      const statistic = rule.statistic as FeatureStatistic;
      set.add(statistic);
      minSamples = Math.min(minSamples, rule.min_samples);
      if (rule.significance === undefined) continue;
      for (const type of ['numeric', 'categorical'] as const) {
        const test = significanceTest(statistic, type);
        if (test) set.add(test);
      }
    }
    byWindow.set(key, (read = { statistics: set, minSamples }));
  }
  return read;
}

/**
 * Evaluates one model: statistics for the model, its prediction and each monitored feature, in every
 * current window against the reference, then every applicable rule through the alert state machine.
 * Pure: everything read from Redis comes in, the changes to write and events to emit go out.
 */
export function evaluateModel(input: EvaluationInput): EvaluationResult {
  const { predictor, model, reference, now } = input;
  const role = input.role ?? 'primary';
  const result: EvaluationResult = { model: [], prediction: [], features: new Map(), changes: [], active: new Map() };
  const defaultWindow = input.windows[0]!;
  const windowsKey = input.windows.map((window) => window.name).join('\u0000');

  // Rules already judged on the series being evaluated, for `unless`: a rule stays quiet while the rule it
  // names is pending or firing on the same series (a shift of location fires the location rule, not
  // the shape rule as well).
  const activeOnSeries = new Set<string>();
  const apply = (rule: ResolvedRule, feature: string | null, readings: readonly WindowReading[]) => {
    const field = `${rule.name}|${feature ?? ''}`;
    const previous = input.states.get(field) ?? OK_STATE;
    const judged = judge(rule, readings);
    const { reading } = judged;
    let { observation } = judged;
    if (observation.kind === 'breach' && previous.phase === 'ok' && rule.unless !== undefined && activeOnSeries.has(rule.unless)) {
      observation = { kind: 'band', value: observation.value };
    }
    const transition = step(previous, observation, now, rule.for, (since) => incidentId(rule.name, predictor, model, feature, since));
    const { state, event } = transition;
    if (state.phase !== 'ok') {
      result.active.set(field, { rule, state, feature });
      activeOnSeries.add(rule.name);
    }
    const changed = state.phase !== previous.phase || state.incident !== previous.incident || (state.phase !== 'ok' && state.value !== previous.value);
    if (!changed && !event) return;
    const decided = reading ?? readings[0];
    const details: Record<string, string> = {};
    if (decided?.pValue !== undefined) details['p_value'] = decided.pValue.toExponential(2);
    if (decided) {
      details['samples'] = String(decided.samples);
      details['reference_samples'] = String(decided.referenceSamples);
    }
    const alert = event
      ? buildAlertEvent(event, rule, { predictor, model, feature }, { id: state.incident, since: state.since, value: state.value }, {
          window: decided?.window ?? defaultWindow.name,
          reference: input.referenceLabel,
          now,
          details,
        })
      : null;
    result.changes.push({ field, state: state.phase === 'ok' ? null : state, event: alert });
  };

  // Model-level series.
  const modelRules = input.rules.for({ predictor, model, role }, 'model');
  for (const window of input.windows) result.model.push(modelStatistics(window, reference, input.labelSampleRate));
  for (const rule of modelRules) {
    const readings = ruleWindows(rule, input.windows).map((window): WindowReading => {
      const statistics = result.model[input.windows.indexOf(window)]!;
      const [samples, referenceSamples] = modelSamples(rule.statistic, window, reference);
      return { window: window.name, value: statistics.values[rule.statistic], samples, referenceSamples };
    });
    apply(rule, null, readings);
  }

  // The prediction and every monitored feature.
  const series: [string, (summary: ModelSummary) => ValueSummary | undefined, 'prediction' | 'feature'][] = [
    [PREDICTION_SERIES, (summary) => summary.prediction, 'prediction'],
    ...input.features.map((name): [string, (summary: ModelSummary) => ValueSummary | undefined, 'feature'] => [name, (summary) => summary.features.get(name), 'feature']),
  ];
  for (const [name, pick, target] of series) {
    const rules = input.rules.for({ predictor, model, role, feature: name }, target);
    const perWindow: SeriesStatistics[] = input.windows.map((window, index) => ({
      window: window.name,
      ...compareValues(
        pick(window.summary),
        reference ? pick(reference) : undefined,
        target === 'prediction' ? window.summary.count - window.summary.errors : window.summary.count,
        reference ? (target === 'prediction' ? reference.count - reference.errors : reference.count) : 0,
        index === 0 ? undefined : statisticsRead(rules, input.windows, windowsKey, index),
      ),
    }));
    if (target === 'prediction') result.prediction = perWindow;
    else result.features.set(name, perWindow);
    activeOnSeries.clear();
    for (const rule of rules) {
      const readings = ruleWindows(rule, input.windows).flatMap((window) => seriesReading(rule, window.name, perWindow[input.windows.indexOf(window)]!) ?? []);
      if (readings.length > 0) apply(rule, name, readings);
    }
  }
  return result;
}
