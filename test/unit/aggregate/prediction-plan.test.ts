import { describe, expect, it } from 'vitest';
import { Admission, ModelSummary, planPredictions, type PositionedEvent } from '../../../src/aggregate/index.ts';
import type { PredictionEvent } from '../../../src/events.ts';
import { decodeJoinRecord } from '../../../src/join/index.ts';

const MINUTE = 60_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);
const aggregation = { bucketMs: MINUTE, maxModels: 2, maxFeaturesPerModel: 10, maxCategories: 10 };

const event = (i: number, model: string, extra: Partial<PredictionEvent> = {}): PredictionEvent => ({
  prediction_id: `p${i}`,
  predictor_name: 'eta',
  model_id: model,
  role: 'primary',
  sent_at: T0 + (i % 90) * 1000,
  features: { x: i, c: i % 2 === 0 ? 'a' : null },
  prediction: i,
  prediction_scores: null,
  default_values_used: [],
  latency_ms: 10 + i,
  error: null,
  ...extra,
});

describe('planPredictions', () => {
  const events: PositionedEvent[] = Array.from({ length: 100 }, (_, i) => ({ offset: 500 + i, event: event(i, i % 2 === 0 ? 'v1' : 'v2', i === 7 ? { error: 'timeout', prediction: null } : {}) }));

  it('adds each model up exactly: counts, features logged, a summary per fine bucket, first offsets, join records', () => {
    const plan = planPredictions(events, { aggregation, admission: new Admission(2, 10), joinSampleRate: 1 });
    expect(plan.models.map((model) => [model.key, model.count, model.errors, model.firstOffset])).toEqual([
      ['eta/v1', 50, 0, 500],
      ['eta/v2', 50, 1, 501],
    ]);
    const v1 = plan.models[0]!;
    expect(Object.fromEntries(v1.features)).toEqual({ x: 50, c: 50 });
    // Events span 90 s of event time: two fine buckets, and together they hold every event.
    expect(v1.buckets.map((bucket) => bucket.start)).toEqual([T0, T0 + MINUTE]);
    expect(ModelSummary.mergeAll(v1.buckets.map((bucket) => bucket.bytes)).count).toBe(50);
    expect(v1.latenciesMs).toHaveLength(50);
    // Every successful prediction keeps a join record naming its model; the failed one does not.
    expect(plan.joins).toHaveLength(99);
    expect(decodeJoinRecord(plan.joins[1]!.record)).toEqual({ model: 'eta/v2', sentAt: T0 + 1000, prediction: 1, scores: null });
    expect(plan.overflowModelEvents).toBe(0);
  });

  it('leaves out a model\'s events at or below its floor, but keeps their join records (rewriting them is harmless)', () => {
    const plan = planPredictions(events, { aggregation, admission: new Admission(2, 10), joinSampleRate: 1, floors: new Map([['eta/v1', 549]]) });
    const v1 = plan.models.find((model) => model.key === 'eta/v1')!;
    expect(v1.count).toBe(25);
    expect(v1.firstOffset).toBe(550);
    expect(v1.latenciesMs).toHaveLength(25);
    expect(plan.models.find((model) => model.key === 'eta/v2')!.count).toBe(50);
    expect(plan.joins).toHaveLength(99);
    // A model entirely at or below its floor is left out.
    const none = planPredictions(events, { aggregation, admission: new Admission(2, 10), joinSampleRate: undefined, floors: new Map([['eta/v1', 599]]) });
    expect(none.models.map((model) => model.key)).toEqual(['eta/v2']);
    expect(none.joins).toHaveLength(0);
  });

  it('counts the events of models over the cap as overflow, with no summary, latency or join record', () => {
    const admission = new Admission(1, 10);
    const plan = planPredictions(events, { aggregation, admission, joinSampleRate: 1 });
    expect(plan.models.map((model) => model.key)).toEqual(['eta/v1']);
    expect(plan.overflowModelEvents).toBe(50);
    expect(plan.joins).toHaveLength(50);
  });
});
