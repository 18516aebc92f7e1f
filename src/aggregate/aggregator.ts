import type { ModelRole, PredictionEvent } from '../events.ts';
import { ModelSummary } from './summary.ts';

export interface AggregatorOptions {
  /** Width of the finest event-time bucket (ms); coarser resolutions are built from these. */
  bucketMs: number;
  maxModels: number;
  maxFeaturesPerModel: number;
  maxCategories: number;
}

export interface ModelIdentity {
  predictor: string;
  model: string;
}

/** What one model contributed to one fine bucket during one batch. */
export interface BucketDelta extends ModelIdentity {
  role: ModelRole;
  bucketStart: number;
  summary: ModelSummary;
}

export interface Drained {
  deltas: BucketDelta[];
  /** Valid events of models over the model cap: counted here, monitored nowhere. */
  overflowModelEvents: number;
}

interface ModelState extends ModelIdentity {
  role: ModelRole;
  features: Set<string>;
  buckets: Map<number, ModelSummary>;
}

/**
 * Which models and features a worker monitors. Shared by the aggregators of concurrent batches and
 * kept for the worker's life: once a cap is reached, further names are overflow, so memory and
 * metric labels stay bounded by configuration whatever producers send.
 */
export class Admission {
  private readonly models = new Map<string, Set<string>>();

  constructor(private readonly maxModels: number, private readonly maxFeaturesPerModel: number) {}

  /** The admitted feature set of the model, or undefined when the model is over the cap. */
  model(key: string): Set<string> | undefined {
    let features = this.models.get(key);
    if (!features) {
      if (this.models.size >= this.maxModels) return undefined;
      features = new Set();
      this.models.set(key, features);
    }
    return features;
  }

  admitFeature(features: Set<string>, name: string): boolean {
    if (features.has(name)) return true;
    if (features.size >= this.maxFeaturesPerModel) return false;
    features.add(name);
    return true;
  }
}

/**
 * record(event) per valid event, drain() per batch: the deltas that one state write must apply.
 * Pure and synchronous (Vector's aggregate transform): the runtime loop owns time and I/O.
 */
export class Aggregator {
  private readonly models = new Map<string, ModelState>();
  private overflowModelEvents = 0;
  private readonly admission: Admission;

  constructor(private readonly options: AggregatorOptions, admission?: Admission) {
    this.admission = admission ?? new Admission(options.maxModels, options.maxFeaturesPerModel);
  }

  /** Records a valid event; false when its model is over the model cap (counted as overflow). */
  record(event: PredictionEvent): boolean {
    const state = this.modelState(event);
    if (!state) {
      this.overflowModelEvents++;
      return false;
    }
    state.role = event.role;
    const bucketStart = event.sent_at - (event.sent_at % this.options.bucketMs);
    let summary = state.buckets.get(bucketStart);
    if (!summary) {
      summary = new ModelSummary();
      state.buckets.set(bucketStart, summary);
    }

    summary.count++;
    if (event.error !== null) summary.errors++;
    if (event.latency_ms !== null) summary.latency.add(event.latency_ms);
    // A failed request has no prediction to monitor; its absence is not a "missing" prediction.
    if (event.error === null) summary.prediction.add(event.prediction, this.options.maxCategories);

    const { maxCategories } = this.options;
    for (const name in event.features) {
      if (!this.admission.admitFeature(state.features, name)) {
        summary.overflowFeatures++;
        continue;
      }
      summary.feature(name).add(event.features[name], maxCategories);
    }
    for (const name of event.default_values_used) {
      if (this.admission.admitFeature(state.features, name)) summary.feature(name).defaults++;
      else summary.overflowFeatures++;
    }
    return true;
  }

  drain(): Drained {
    const deltas: BucketDelta[] = [];
    for (const state of this.models.values()) {
      for (const [bucketStart, summary] of state.buckets) {
        deltas.push({ predictor: state.predictor, model: state.model, role: state.role, bucketStart, summary });
      }
      state.buckets.clear();
    }
    const drained = { deltas, overflowModelEvents: this.overflowModelEvents };
    this.overflowModelEvents = 0;
    return drained;
  }

  private modelState(event: PredictionEvent): ModelState | undefined {
    const key = `${event.predictor_name}\u0000${event.model_id}`;
    let state = this.models.get(key);
    if (!state) {
      const features = this.admission.model(key);
      if (!features) return undefined;
      state = { predictor: event.predictor_name, model: event.model_id, role: event.role, features, buckets: new Map() };
      this.models.set(key, state);
    }
    return state;
  }
}
