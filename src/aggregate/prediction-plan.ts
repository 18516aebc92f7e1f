import type { ModelRole, PredictionEvent } from '../events.ts';
import { encodeJoinRecord, inJoinSample, type JoinEntry } from '../join/index.ts';
import { ByteWriter } from '../sketch/index.ts';
import { Aggregator, type Admission, type AggregatorOptions } from './aggregator.ts';
import { modelKey } from './model-key.ts';

/** A valid event and its Kafka offset. */
export interface PositionedEvent {
  offset: number;
  event: PredictionEvent;
}

/** Everything one write adds to one model: exact counts, its features, and a summary per fine bucket. */
export interface ModelDelta {
  key: string;
  predictor: string;
  model: string;
  role: ModelRole;
  /** The first offset of the model's events here: the store writes the delta only if none of them is in state yet. */
  firstOffset: number;
  count: number;
  errors: number;
  /** Every feature seen → values logged (null included): the exact per-feature totals. */
  features: Map<string, number>;
  /** Encoded ModelSummary per aggregation bucket start (a recent bucket when those are kept, else a fine one). */
  buckets: { start: number; bytes: Buffer }[];
  /** Serving latencies (ms) of the model's events, for the latency histogram once the write is in. */
  latenciesMs: number[];
  /** Per role its events had, their latest sent_at: the store keeps the latest per role, and the model's role is that of its latest event. */
  roles: Map<ModelRole, number>;
}

/** Pairs completed in a write for one shadow model (join/plan-pairs.ts): encoded PairSummary per fine bucket. */
export interface ModelPairDelta {
  key: string;
  firstOffset: number;
  buckets: { start: number; bytes: Buffer }[];
}

export interface PredictionPlan {
  models: ModelDelta[];
  /** Join records of every event in the plan's range, floors notwithstanding (writing them again is harmless). */
  joins: JoinEntry[];
  /** Valid events of models over the model cap: counted, monitored nowhere. */
  overflowModelEvents: number;
  /** Paired predictions per shadow model (added by the prediction source when pairing is on). */
  pairs?: ModelPairDelta[];
}

export interface PredictionPlanOptions {
  aggregation: AggregatorOptions;
  /** The worker's model and feature caps, shared by every plan it makes. */
  admission: Admission;
  /** Keep join records for labels at this sample rate; undefined: labels are off. */
  joinSampleRate: number | undefined;
  /** Per model key: events at or below this offset are in state already (a write of theirs landed). */
  floors?: ReadonlyMap<string, number>;
  /** Model keys the fleet's registry refused (caps.models reached): their events are overflow. */
  refused?: ReadonlySet<string>;
}

/**
 * A batch's valid prediction events → what the state write must apply: per model, exact counts and an
 * encoded summary per fine bucket, and the join records. Pure and synchronous.
 */
export function planPredictions(events: readonly PositionedEvent[], options: PredictionPlanOptions): PredictionPlan {
  const aggregator = new Aggregator(options.aggregation, options.admission);
  const floors = options.floors ?? new Map<string, number>();
  const joinRate = options.joinSampleRate;
  const joins: JoinEntry[] = [];
  const joinWriter = new ByteWriter(16_384);
  // Per model identity (predictor NUL model, as the aggregator keys them): key, first offset, latencies.
  const seen = new Map<string, { key: string; firstOffset: number; latenciesMs: number[]; counted: boolean; roles: Map<ModelRole, number> }>();
  const refused = options.refused;
  let refusedEvents = 0;
  for (const { offset, event } of events) {
    const identity = `${event.predictor_name}\u0000${event.model_id}`;
    let model = seen.get(identity);
    if (!model) seen.set(identity, (model = { key: modelKey(event.predictor_name, event.model_id), firstOffset: offset, latenciesMs: [], counted: false, roles: new Map() }));
    if (refused?.has(model.key)) {
      refusedEvents++;
      continue;
    }
    const floor = floors.get(model.key);
    const fresh = floor === undefined || offset > floor;
    if (fresh && !model.counted) {
      model.firstOffset = offset;
      model.counted = true;
    }
    // Over the model cap: counted as overflow by the aggregator, nothing else kept.
    const admitted = fresh ? aggregator.record(event) : options.admission.model(identity) !== undefined;
    if (!admitted) continue;
    if (fresh && event.latency_ms !== null) model.latenciesMs.push(event.latency_ms);
    if (fresh && event.sent_at > (model.roles.get(event.role) ?? -1)) model.roles.set(event.role, event.sent_at);
    // Only a prediction a label can be scored against is kept for the join (docs/labels.md: memory).
    if (joinRate !== undefined && event.error === null && event.prediction !== null && inJoinSample(event.prediction_id, joinRate)) {
      joins.push({ predictionId: event.prediction_id, sentAt: event.sent_at, record: encodeJoinRecord({ model: model.key, sentAt: event.sent_at, prediction: event.prediction, scores: event.prediction_scores }, joinWriter) });
    }
  }

  const drained = aggregator.drain();
  const models = new Map<string, ModelDelta>();
  for (const delta of drained.deltas) {
    const identity = `${delta.predictor}\u0000${delta.model}`;
    const model = seen.get(identity)!;
    let out = models.get(identity);
    if (!out) {
      out = { key: model.key, predictor: delta.predictor, model: delta.model, role: delta.role, firstOffset: model.firstOffset, count: 0, errors: 0, features: new Map(), buckets: [], latenciesMs: model.latenciesMs, roles: model.roles };
      models.set(identity, out);
    }
    const { summary } = delta;
    out.count += summary.count;
    out.errors += summary.errors;
    for (const [feature, values] of summary.features) out.features.set(feature, (out.features.get(feature) ?? 0) + values.logged);
    out.buckets.push({ start: delta.bucketStart, bytes: summary.encode() });
  }
  return { models: [...models.values()], joins, overflowModelEvents: drained.overflowModelEvents + refusedEvents };
}
