import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BulkHistogram } from './bulk-histogram.ts';
import { registerGcFloor } from './gc-floor.ts';

/**
 * Every Prometheus metric driftwatch exports, defined in one place on a registry passed in (tests stay
 * isolated). Names follow Prometheus conventions: base units, `_total` counters, `_seconds`.
 * Label values are bounded by configuration: predictor/model by the model cap, reason by the error
 * catalogue, topic/partition by the subscription.
 */
export function createIngestMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'driftwatch_events_total',
      help: 'Prediction-log events by predictor, model and outcome (accepted, failed = the request had an error).',
      labelNames: ['predictor', 'model', 'outcome'] as const,
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'driftwatch_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by error code.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    duplicatesSkipped: new Counter({
      name: 'driftwatch_redelivered_messages_skipped_total',
      help: 'Redelivered messages whose state was already written (exactly-once watermark).',
      registers: [registry],
    }),
    overflow: new Counter({
      name: 'driftwatch_overflow_total',
      help: 'Values not monitored because a cap was reached, by kind: model_events (caps.models, across the fleet), features (caps.features_per_model), schema_ids (writer schemas dropped from the bounded cache).',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'driftwatch_consumer_lag_messages',
      help: "Messages between the group's committed offset and the log end, per partition this worker owns, read from the broker every few seconds (it rises during a stall).",
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
    failures: new Counter({
      name: 'driftwatch_ingest_failures_total',
      help: 'Failed tries of a batch (retried with backoff, never skipped), by reason: redis_out_of_memory, redis_timeout, redis_unavailable, redis_error, kafka, registry, other.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    stalledPartitions: new Gauge({
      name: 'driftwatch_ingest_stalled_partitions',
      help: 'Partitions whose batch is failing and being retried now.',
      registers: [registry],
    }),
    stateRegressions: new Counter({
      name: 'driftwatch_state_regressions_total',
      help: 'Partitions found with their Redis state behind Kafka (kind: generation = the dataset was lost or replaced, behind = watermark behind the committed offset, missing = no watermark); each is replayed from Kafka.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    stateRebuilding: new Gauge({
      name: 'driftwatch_state_rebuilding_partitions',
      help: 'Partitions being replayed from Kafka after a state regression (the worker is not ready meanwhile).',
      registers: [registry],
    }),
    flushDuration: new Histogram({
      name: 'driftwatch_flush_duration_seconds',
      help: 'Time to write one partition batch to Redis.',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    batchEvents: new Histogram({
      name: 'driftwatch_batch_messages',
      help: 'Messages per consumed partition batch.',
      buckets: [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000],
      registers: [registry],
    }),
    servingLatency: new BulkHistogram(
      'driftwatch_serving_latency_seconds',
      'Serving latency reported in prediction logs, per model.',
      ['predictor', 'model'] as const,
      [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      [registry],
    ),
    labels: new Counter({
      name: 'driftwatch_labels_total',
      help: 'Labels by outcome: joined, duplicate, pending (started to wait; counted again when resolved), unknown, expired, not_sampled.',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    labelsPending: new Gauge({
      name: 'driftwatch_labels_pending',
      help: 'Labels waiting for their prediction, after the last retry round this worker ran.',
      registers: [registry],
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

export function createRegistry(withDefaults = true): Registry {
  const registry = new Registry();
  if (withDefaults) {
    collectDefaultMetrics({ register: registry, prefix: 'driftwatch_process_' });
    registerGcFloor(registry);
  }
  return registry;
}

interface EvaluatedModel {
  key: string;
  predictor: string;
  model: string;
  /** The model's role now (primary, shadow, canary): a label on every per-model series. */
  role: string;
}

interface EvaluationSnapshot {
  model: { values: Partial<Record<string, number>> }[];
  features: Map<string, { values: Partial<Record<string, number>> }[]>;
  active: Map<string, { rule: { name: string; severity: string; target: string }; state: { phase: string }; feature: string | null }>;
}

const FEATURE_GAUGE_STATISTICS = ['psi', 'ks', 'js', 'wasserstein', 'shape', 'linf', 'missing_rate', 'default_rate'] as const;
/** Online performance from joined labels, one gauge series per model and metric (a fixed list). */
const PERFORMANCE_GAUGE_STATISTICS = ['accuracy', 'precision_macro', 'recall_macro', 'f1_macro', 'log_loss', 'auc', 'mae', 'rmse', 'bias', 'label_coverage'] as const;

/**
 * Evaluation metrics. Per-model gauges are always exported; per-feature drift gauges stop at
 * `featureSeriesCap` series per worker. Label sets of models that moved to another worker are removed,
 * so two workers never export the same series.
 */
export function createEvaluationMetrics(registry: Registry, featureSeriesCap: number) {
  const tickDuration = new Histogram({
    name: 'driftwatch_evaluation_tick_seconds',
    help: 'Time to evaluate every model this worker holds, once.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
    registers: [registry],
  });
  const modelsEvaluated = new Gauge({ name: 'driftwatch_models_evaluated', help: 'Models whose evaluation lease this worker holds.', registers: [registry] });
  const alertEvents = new Counter({
    name: 'driftwatch_alert_events_total',
    help: 'Alert events published to Kafka, by state and severity.',
    labelNames: ['state', 'severity'] as const,
    registers: [registry],
  });
  const modelLabels = ['predictor', 'model', 'role'] as const;
  const windowEvents = new Gauge({ name: 'driftwatch_model_window_events', help: 'Events in the current window.', labelNames: modelLabels, registers: [registry] });
  const errorRatio = new Gauge({ name: 'driftwatch_model_error_ratio', help: 'Failed requests / requests in the current window.', labelNames: modelLabels, registers: [registry] });
  const latency = new Gauge({
    name: 'driftwatch_model_latency_seconds',
    help: 'Serving latency quantiles in the current window (from the t-digest).',
    labelNames: [...modelLabels, 'quantile'] as const,
    registers: [registry],
  });
  const maxPsi = new Gauge({ name: 'driftwatch_model_max_psi', help: 'Largest PSI of any numeric feature in the current window.', labelNames: modelLabels, registers: [registry] });
  const drifted = new Gauge({ name: 'driftwatch_model_drifted_features', help: 'Features with a firing feature alert.', labelNames: modelLabels, registers: [registry] });
  const firing = new Gauge({
    name: 'driftwatch_alerts_firing',
    help: 'Firing alerts, by model, rule and severity.',
    labelNames: [...modelLabels, 'rule', 'severity'] as const,
    registers: [registry],
  });
  const performance = new Gauge({
    name: 'driftwatch_model_performance',
    help: 'Online performance of labeled predictions made in the current window, by metric (accuracy, precision_macro, recall_macro, f1_macro, log_loss, auc, mae, rmse, bias, label_coverage).',
    labelNames: [...modelLabels, 'metric'] as const,
    registers: [registry],
  });
  const featureDrift = new Gauge({
    name: 'driftwatch_feature_drift',
    help: `Per-feature statistics in the current window (capped at ${featureSeriesCap} features per worker).`,
    labelNames: [...modelLabels, 'feature', 'statistic'] as const,
    registers: [registry],
  });

  const exported = new Map<string, { model: EvaluatedModel; features: string[]; firing: { rule: string; severity: string }[] }>();
  let featureSeries = 0;

  const forget = (key: string) => {
    const previous = exported.get(key);
    if (!previous) return;
    const labels = { predictor: previous.model.predictor, model: previous.model.model, role: previous.model.role };
    for (const gauge of [windowEvents, errorRatio, maxPsi, drifted]) gauge.remove(labels);
    for (const quantile of ['0.5', '0.9', '0.95', '0.99']) latency.remove({ ...labels, quantile });
    for (const metric of PERFORMANCE_GAUGE_STATISTICS) performance.remove({ ...labels, metric });
    for (const alert of previous.firing) firing.remove({ ...labels, ...alert });
    for (const feature of previous.features) for (const statistic of FEATURE_GAUGE_STATISTICS) featureDrift.remove({ ...labels, feature, statistic });
    featureSeries -= previous.features.length;
    exported.delete(key);
  };

  return {
    tickDuration,
    modelsEvaluated,
    alertEvents,
    forget,
    /** Keeps only the models in `keys` exported. */
    retain(keys: ReadonlySet<string>) {
      for (const key of [...exported.keys()]) if (!keys.has(key)) forget(key);
    },
    record(model: EvaluatedModel, result: EvaluationSnapshot) {
      forget(model.key);
      const labels = { predictor: model.predictor, model: model.model, role: model.role };
      const values = result.model[0]?.values ?? {};
      windowEvents.set(labels, values['count'] ?? 0);
      if (values['error_rate'] !== undefined) errorRatio.set(labels, values['error_rate']);
      for (const [quantile, statistic] of [['0.5', 'latency_p50'], ['0.9', 'latency_p90'], ['0.95', 'latency_p95'], ['0.99', 'latency_p99']] as const) {
        const value = values[statistic];
        if (value !== undefined) latency.set({ ...labels, quantile }, value / 1000);
      }
      for (const metric of PERFORMANCE_GAUGE_STATISTICS) {
        const value = values[metric];
        if (value !== undefined && Number.isFinite(value)) performance.set({ ...labels, metric }, value);
      }
      let max = 0;
      const features: string[] = [];
      for (const [feature, windows] of result.features) {
        const statistics = windows[0]?.values ?? {};
        max = Math.max(max, statistics['psi'] ?? 0);
        if (featureSeries >= featureSeriesCap) continue;
        featureSeries++;
        features.push(feature);
        for (const statistic of FEATURE_GAUGE_STATISTICS) {
          const value = statistics[statistic];
          if (value !== undefined && Number.isFinite(value)) featureDrift.set({ ...labels, feature, statistic }, value);
        }
      }
      maxPsi.set(labels, max);
      const firingAlerts: { rule: string; severity: string }[] = [];
      const driftedFeatures = new Set<string>();
      for (const alert of result.active.values()) {
        if (alert.state.phase !== 'firing') continue;
        firingAlerts.push({ rule: alert.rule.name, severity: alert.rule.severity });
        if (alert.rule.target === 'feature' && alert.feature !== null) driftedFeatures.add(alert.feature);
      }
      const counts = new Map<string, { rule: string; severity: string; n: number }>();
      for (const alert of firingAlerts) {
        const key = `${alert.rule}\u0000${alert.severity}`;
        counts.set(key, { ...alert, n: (counts.get(key)?.n ?? 0) + 1 });
      }
      for (const { rule, severity, n } of counts.values()) firing.set({ ...labels, rule, severity }, n);
      drifted.set(labels, driftedFeatures.size);
      exported.set(model.key, { model, features, firing: [...counts.values()].map(({ rule, severity }) => ({ rule, severity })) });
    },
  };
}

export type EvaluationMetrics = ReturnType<typeof createEvaluationMetrics>;

interface ComparedModel {
  key: string;
  predictor: string;
  model: string;
  role: string;
}

interface ComparisonSnapshot {
  baseline: string;
  state: string;
  statistics: Partial<Record<string, { value: number; lower?: number; upper?: number }>>;
  eta: { towards: string; seconds: number } | null;
  samples: { candidate: { predictions: number; labeled: number; pairs: number }; baseline: { predictions: number; labeled: number } };
}

const COMPARISON_STATES = ['running', 'rollback', 'promote', 'expired', 'no_baseline'] as const;

/**
 * Shadow/canary comparison metrics, exported by the worker that evaluates the candidate (its lease
 * holder) only; series of candidates that moved to another worker are removed. Labels are bounded by
 * the candidates (the model cap) and the fixed lists of statistics and states.
 */
export function createComparisonMetrics(registry: Registry) {
  const labels = ['predictor', 'candidate', 'baseline', 'role'] as const;
  const state = new Gauge({
    name: 'driftwatch_comparison_state',
    help: `1 for the comparison's state (${COMPARISON_STATES.join(', ')}), 0 for the others.`,
    labelNames: [...labels, 'state'] as const,
    registers: [registry],
  });
  const samples = new Gauge({
    name: 'driftwatch_comparison_samples',
    help: 'Samples a comparison rests on since it started, by side (candidate, baseline) and kind (predictions, labeled, pairs).',
    labelNames: [...labels, 'side', 'kind'] as const,
    registers: [registry],
  });
  const estimate = new Gauge({
    name: 'driftwatch_comparison_estimate',
    help: 'Candidate vs baseline statistics (differences candidate − baseline, ratios candidate / baseline, agreement), by statistic.',
    labelNames: [...labels, 'statistic'] as const,
    registers: [registry],
  });
  const bound = new Gauge({
    name: 'driftwatch_comparison_bound',
    help: 'Lower and upper bounds of the always-valid confidence sequences of the sequential statistics.',
    labelNames: [...labels, 'statistic', 'bound'] as const,
    registers: [registry],
  });
  const eta = new Gauge({
    name: 'driftwatch_comparison_decision_eta_seconds',
    help: 'At the current estimate and sample rate, when the decision metric would decide, by direction (promote, rollback).',
    labelNames: [...labels, 'towards'] as const,
    registers: [registry],
  });
  const verdicts = new Counter({ name: 'driftwatch_verdicts_total', help: 'Verdict events published to Kafka by this worker, by decision.', labelNames: ['decision'] as const, registers: [registry] });

  const exported = new Map<string, { labels: Record<(typeof labels)[number], string>; statistics: string[]; bounds: string[]; towards: string | null }>();
  const forget = (key: string) => {
    const previous = exported.get(key);
    if (!previous) return;
    for (const s of COMPARISON_STATES) state.remove({ ...previous.labels, state: s });
    for (const side of ['candidate', 'baseline']) for (const kind of ['predictions', 'labeled', 'pairs']) samples.remove({ ...previous.labels, side, kind });
    for (const statistic of previous.statistics) estimate.remove({ ...previous.labels, statistic });
    for (const statistic of previous.bounds) for (const b of ['lower', 'upper']) bound.remove({ ...previous.labels, statistic, bound: b });
    if (previous.towards) eta.remove({ ...previous.labels, towards: previous.towards });
    exported.delete(key);
  };
  const setState = (model: ComparedModel, baseline: string, current: string) => {
    forget(model.key);
    const base = { predictor: model.predictor, candidate: model.model, baseline, role: model.role };
    for (const s of COMPARISON_STATES) state.set({ ...base, state: s }, s === current ? 1 : 0);
    const entry = { labels: base, statistics: [] as string[], bounds: [] as string[], towards: null as string | null };
    exported.set(model.key, entry);
    return entry;
  };

  return {
    verdicts,
    /** Keeps only these candidates exported. */
    retain(keys: ReadonlySet<string>) {
      for (const key of [...exported.keys()]) if (!keys.has(key)) forget(key);
    },
    record(model: ComparedModel, snapshot: ComparisonSnapshot) {
      const entry = setState(model, snapshot.baseline, snapshot.state);
      const base = entry.labels;
      for (const side of ['candidate', 'baseline'] as const) {
        const counts = snapshot.samples[side] as Record<string, number>;
        for (const [kind, value] of Object.entries(counts)) samples.set({ ...base, side, kind }, value);
      }
      for (const [statistic, reading] of Object.entries(snapshot.statistics)) {
        if (!reading || !Number.isFinite(reading.value)) continue;
        estimate.set({ ...base, statistic }, reading.value);
        entry.statistics.push(statistic);
        if (reading.lower !== undefined && Number.isFinite(reading.lower) && reading.upper !== undefined && Number.isFinite(reading.upper)) {
          bound.set({ ...base, statistic, bound: 'lower' }, reading.lower);
          bound.set({ ...base, statistic, bound: 'upper' }, reading.upper);
          entry.bounds.push(statistic);
        }
      }
      if (snapshot.eta) {
        eta.set({ ...base, towards: snapshot.eta.towards }, snapshot.eta.seconds);
        entry.towards = snapshot.eta.towards;
      }
    },
    /** A candidate with a verdict: its state only. */
    decided(model: ComparedModel, verdict: { baseline_model_id: string; decision: string }) {
      setState(model, verdict.baseline_model_id, verdict.decision);
    },
    noBaseline(model: ComparedModel) {
      setState(model, '', 'no_baseline');
    },
  };
}

export type ComparisonMetrics = ReturnType<typeof createComparisonMetrics>;
