import type { ClassMetrics, ModelSummary, PerformanceSummary, ValueSummary } from '../aggregate/index.ts';
import type { AlertEvent } from '../evaluate/alert-event.ts';
import { globToRegExp } from '../evaluate/rules.ts';
import { evaluateModel, labelablePredictions, performanceStatistics, type SeriesStatistics } from '../evaluate/model-evaluation.ts';
import type { ModelReader } from '../runtime/model-reader.ts';
import type { SummaryState } from '../runtime/state.ts';
import { comparisonStatuses, type ComparisonStatus } from './comparisons.ts';

/** Version of the `status --json` document: bumped only if a field is renamed or removed (never so far). */
export const STATUS_VERSION = 1;

/**
 * The `status --json` contract (BRIEF): fields may be added, never renamed. Described for consumers by
 * schemas/status.schema.json, which test/integration/status.test.ts validates real output against.
 */
export interface StatusReport {
  version: typeof STATUS_VERSION;
  generated_at: number;
  window_ms: number;
  /** Where the state was read from; set by the CLI (the redacted Redis address, the key prefix, the topology file). */
  source?: StatusSource;
  /** Models under the key prefix before --predictor/--model filtering. */
  models_total: number;
  /** The --predictor/--model globs applied, when any. */
  filter?: ModelFilter;
  models: ModelStatus[];
  alerts: AlertStatus[];
  dead_letters: Record<string, number>;
  overflow: Record<string, number>;
  /** Labels by outcome since monitoring began, and how many wait for their prediction now. */
  labels?: { outcomes: Record<string, number>; pending: number };
  /** Shadow and canary models against their baselines: the running state of each comparison, or its verdict. */
  comparisons?: ComparisonStatus[];
}

export interface StatusSource {
  redis: string;
  key_prefix: string;
  topology: string;
}

/** Globs as in rule overrides: * any run, ? one character. */
export interface ModelFilter {
  predictor?: string;
  model?: string;
}

export function modelFilter(filter: ModelFilter): (entry: { predictor: string; model: string }) => boolean {
  const predictor = filter.predictor === undefined ? undefined : globToRegExp(filter.predictor);
  const model = filter.model === undefined ? undefined : globToRegExp(filter.model);
  return (entry) => (predictor === undefined || predictor.test(entry.predictor)) && (model === undefined || model.test(entry.model));
}

export interface ModelStatus {
  predictor_name: string;
  model_id: string;
  role: string;
  count_total: number;
  error_total: number;
  window: { from: number; to: number; count: number };
  error_rate: number | null;
  latency_ms: Quantiles | null;
  prediction: ValueStatus;
  features: Record<string, ValueStatus & { count_total: number }>;
  performance: PerformanceStatus;
  reference?: { kind: string; count: number };
}

/** Online performance of the predictions made in the window, from the labels joined so far: only what applies. */
export interface PerformanceStatus {
  /** Labels joined to this model's predictions since monitoring began (exact). */
  labeled_total?: number;
  /** Labeled predictions of the window. */
  labeled?: number;
  label_coverage?: number;
  accuracy?: number;
  precision_macro?: number;
  recall_macro?: number;
  f1_macro?: number;
  per_class?: Record<string, ClassMetrics>;
  /** actual class → predicted class → count. */
  confusion?: Record<string, Record<string, number>>;
  log_loss?: number;
  auc?: number;
  mae?: number;
  rmse?: number;
  bias?: number;
  label_delay_ms?: Quantiles;
}

export function performanceStatus(performance: PerformanceSummary, labeledTotal: number, predicted: number, sampleRate: number): PerformanceStatus {
  const status: PerformanceStatus = { labeled_total: labeledTotal, labeled: performance.labeled, ...performanceStatistics(performance, predicted, sampleRate) };
  const perClass = performance.metrics().per_class;
  if (perClass) {
    status.per_class = perClass;
    status.confusion = Object.fromEntries([...performance.confusion].map(([actual, row]) => [actual, Object.fromEntries(row)]));
  }
  const delay = quantiles(performance.delay);
  if (delay) status.label_delay_ms = delay;
  return status;
}

interface Quantiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

interface ValueStatus {
  type: 'numeric' | 'categorical' | 'unknown';
  count: number;
  missing_rate: number | null;
  default_rate: number | null;
  drift: Record<string, number>;
  mean?: number;
  std?: number;
  min?: number;
  max?: number;
  quantiles?: Quantiles;
  top_categories?: Record<string, number>;
}

const rate = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

function quantiles(digest: { count: number; quantile(q: number): number }): Quantiles | null {
  if (digest.count === 0) return null;
  return { p50: digest.quantile(0.5), p90: digest.quantile(0.9), p95: digest.quantile(0.95), p99: digest.quantile(0.99) };
}

/**
 * One value's status over a window. Missing counts both nulls and events of the model that did not
 * carry the feature at all (a feature that vanishes from the logs is 100 % missing, not silent).
 */
export function valueStatus(summary: ValueSummary | undefined, modelCount: number): ValueStatus {
  if (!summary) return { type: 'unknown', count: 0, missing_rate: rate(modelCount, modelCount), default_rate: rate(0, modelCount), drift: {} };
  const numericCount = summary.numeric?.moments.count ?? 0;
  const categoricalCount = summary.categories?.total ?? 0;
  const present = numericCount + categoricalCount;
  const status: ValueStatus = {
    type: present === 0 ? 'unknown' : numericCount >= categoricalCount ? 'numeric' : 'categorical',
    count: present,
    missing_rate: rate(modelCount - present, modelCount),
    default_rate: rate(summary.defaults, modelCount),
    drift: {},
  };
  if (status.type === 'numeric' && summary.numeric) {
    const { moments, digest } = summary.numeric;
    Object.assign(status, { mean: moments.mean(), std: moments.std(), min: moments.min, max: moments.max });
    const q = quantiles(digest);
    if (q) status.quantiles = q;
  } else if (status.type === 'categorical' && summary.categories) {
    status.top_categories = Object.fromEntries(summary.categories.top(10));
  }
  return status;
}

export function modelStatus(
  entry: { predictor: string; model: string; role: string },
  totals: { count: number; errors: number; features: Map<string, number> },
  features: readonly string[],
  window: ModelSummary,
  from: number,
  to: number,
): ModelStatus {
  const count = window.count;
  const succeeded = count - window.errors;
  const featureStatus: ModelStatus['features'] = {};
  for (const name of features) {
    featureStatus[name] = { ...valueStatus(window.features.get(name), count), count_total: totals.features.get(name) ?? 0 };
  }
  return {
    predictor_name: entry.predictor,
    model_id: entry.model,
    role: entry.role,
    count_total: totals.count,
    error_total: totals.errors,
    window: { from, to, count },
    error_rate: rate(window.errors, count),
    latency_ms: quantiles(window.latency),
    prediction: valueStatus(window.prediction, succeeded),
    features: featureStatus,
    performance: {},
  };
}

const DRIFT_KEYS = {
  numeric: ['psi', 'ks', 'ks_p', 'js', 'wasserstein', 'ad', 'ad_p', 'shape', 'band_change'],
  categorical: ['js', 'linf', 'chi2_p'],
  unknown: [],
} as const;

/** The brief's drift keys for the value's type, plus the rates that go with them. */
function driftOf(comparison: SeriesStatistics | undefined): { drift: Record<string, number>; extra: Record<string, number> } {
  if (!comparison) return { drift: {}, extra: {} };
  const drift: Record<string, number> = {};
  for (const key of DRIFT_KEYS[comparison.type]) {
    const value = comparison.values[key];
    if (value !== undefined) drift[key] = value;
  }
  const extra: Record<string, number> = {};
  for (const key of ['out_of_range_rate', 'new_category_rate', 'mean_shift'] as const) {
    const value = comparison.values[key];
    if (value !== undefined) extra[key] = value;
  }
  return { drift, extra };
}

/** An incident as `status` shows it: the alert event's fields, in its current phase. */
export type AlertStatus = Pick<AlertEvent, 'id' | 'rule' | 'severity' | 'predictor_name' | 'model_id' | 'feature' | 'statistic' | 'value' | 'threshold' | 'since'> & {
  state: 'pending' | 'firing';
};

/** Reads every model's state from Redis, evaluates it as a worker would (without writing) and reports. */
export async function buildStatus(
  state: Pick<SummaryState, 'windows' | 'joins' | 'comparisons'>,
  reader: ModelReader,
  now: number,
  window: { name: string; duration: number },
  filter: ModelFilter = {},
): Promise<StatusReport> {
  const from = now - window.duration;
  const models: ModelStatus[] = [];
  const alerts: AlertStatus[] = [];
  let refusedFeatures = 0;
  const registered = await state.windows.models();
  // Each model's role now (its latest event's): a canary promoted to primary shows as a primary.
  const roles = await state.windows.roles(registered.map((model) => model.key));
  const seen = registered.map((model) => ({ ...model, role: roles.get(model.key) ?? model.role }));
  const selected = modelFilter(filter);
  // Overflow is for the whole key prefix, whatever the filter: the unselected models' refusals too.
  for (const entry of seen) if (!selected(entry)) refusedFeatures += (await state.windows.totals(entry.key)).refusedFeatures;
  for (const entry of seen.filter(selected)) {
    const input = await reader.input(entry, now, [window]);
    const totals = await state.windows.totals(entry.key);
    refusedFeatures += totals.refusedFeatures;
    const current = input.windows[0]!.summary;
    const status = modelStatus(entry, totals, input.features, current, from, now);
    const result = evaluateModel(input);
    const prediction = driftOf(result.prediction[0]);
    status.prediction.drift = prediction.drift;
    for (const [name, feature] of Object.entries(status.features)) {
      const { drift, extra } = driftOf(result.features.get(name)?.[0]);
      feature.drift = drift;
      Object.assign(feature, extra);
    }
    status.reference = { kind: input.referenceLabel, count: input.reference?.count ?? 0 };
    const performance = input.windows[0]!.performance;
    if (performance) status.performance = performanceStatus(performance, totals.labeled, labelablePredictions(current), input.labelSampleRate ?? 1);
    models.push(status);
    for (const [field, stored] of input.states) {
      const [rule = '', feature = ''] = field.split('|');
      const resolved = result.active.get(field)?.rule;
      alerts.push({
        id: stored.incident,
        state: stored.phase === 'firing' ? 'firing' : 'pending',
        rule,
        severity: resolved?.severity ?? '',
        predictor_name: entry.predictor,
        model_id: entry.model,
        feature: feature === '' ? null : feature,
        statistic: resolved?.statistic ?? '',
        value: stored.value,
        threshold: resolved?.threshold ?? Number.NaN,
        since: stored.since,
      });
    }
  }
  const counters = await state.windows.counters();
  if (refusedFeatures > 0) counters.overflow['features'] = refusedFeatures;
  const filtered = filter.predictor !== undefined || filter.model !== undefined;
  return {
    version: STATUS_VERSION,
    generated_at: now,
    window_ms: window.duration,
    models_total: seen.length,
    ...(filtered ? { filter } : {}),
    models,
    alerts,
    dead_letters: counters.dlq,
    overflow: counters.overflow,
    labels: { outcomes: counters.labels, pending: await state.joins.pendingCount(await state.windows.partitions()) },
    comparisons: await comparisonStatuses(state, seen),
  };
}
