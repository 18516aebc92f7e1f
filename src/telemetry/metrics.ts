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
      help: 'Values not monitored because a cap was reached, by kind (model_events, features).',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    consumerLag: new Gauge({
      name: 'driftwatch_consumer_lag_messages',
      help: 'Messages behind the partition high watermark after the last batch.',
      labelNames: ['topic', 'partition'] as const,
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
  const modelLabels = ['predictor', 'model'] as const;
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
    const labels = { predictor: previous.model.predictor, model: previous.model.model };
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
      const labels = { predictor: model.predictor, model: model.model };
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
