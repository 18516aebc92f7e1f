import { describe, expect, it } from 'vitest';
import { Aggregator, ModelSummary } from '../../../src/aggregate/index.ts';
import type { PredictionEvent } from '../../../src/events.ts';

const MINUTE = 60_000;
const T0 = 1_700_000_040_000; // a minute boundary
const options = { bucketMs: MINUTE, maxModels: 2, maxFeaturesPerModel: 3, maxCategories: 10 };

const event = (overrides: Partial<PredictionEvent> = {}): PredictionEvent => ({
  prediction_id: 'p',
  predictor_name: 'eta',
  model_id: 'v1',
  role: 'primary',
  sent_at: T0,
  features: { a: 1, b: 'x', c: null },
  prediction: 5,
  prediction_scores: null,
  default_values_used: [],
  latency_ms: 10,
  error: null,
  ...overrides,
});

describe('Aggregator', () => {
  it('splits by model and event-time bucket and counts what each feature carried', () => {
    const aggregator = new Aggregator(options);
    aggregator.record(event());
    aggregator.record(event({ sent_at: T0 + 59_999, features: { a: 3, b: true }, default_values_used: ['a'] }));
    aggregator.record(event({ sent_at: T0 + MINUTE, error: 'TIMEOUT', prediction: null, latency_ms: null }));
    aggregator.record(event({ model_id: 'v2' }));
    const { deltas, overflowModelEvents } = aggregator.drain();
    expect(overflowModelEvents).toBe(0);
    expect(deltas.map((d) => [d.model, d.bucketStart, d.summary.count, d.summary.errors])).toEqual([
      ['v1', T0, 2, 0],
      ['v1', T0 + MINUTE, 1, 1],
      ['v2', T0, 1, 0],
    ]);
    const first = deltas[0]!.summary;
    expect(first.latency.count).toBe(2);
    expect(first.features.get('a')).toMatchObject({ logged: 2, nulls: 0, defaults: 1 });
    expect(first.features.get('a')!.numeric!.moments.sum).toBe(4);
    expect(first.features.get('b')!.categories!.entries()).toEqual([['true', 1], ['x', 1]]);
    expect(first.features.get('c')).toMatchObject({ logged: 1, nulls: 1 });
    // A failed request has no prediction: it is not counted as a missing one.
    expect(deltas[1]!.summary.prediction.logged).toBe(0);
    expect(aggregator.drain().deltas).toEqual([]);
  });

  it('caps models and features, counting the overflow instead of growing', () => {
    const aggregator = new Aggregator(options);
    aggregator.record(event({ model_id: 'v1', features: { a: 1, b: 2, c: 3, d: 4, e: 5 } }));
    aggregator.record(event({ model_id: 'v2' }));
    expect(aggregator.record(event({ model_id: 'v3' }))).toBe(false);
    const { deltas, overflowModelEvents } = aggregator.drain();
    expect(overflowModelEvents).toBe(1);
    expect([...deltas[0]!.summary.features.keys()]).toEqual(['a', 'b', 'c']);
    expect(deltas[0]!.summary.overflowFeatures).toBe(2);
  });
});

describe('ModelSummary', () => {
  it('encodes deterministically and decodes to the same summary', () => {
    const aggregator = new Aggregator({ ...options, maxFeaturesPerModel: 10 });
    for (let i = 0; i < 500; i++) {
      aggregator.record(event({ features: { a: i, b: `c${i % 7}`, c: i % 5 === 0 ? null : i / 3 }, latency_ms: i % 50, prediction: i % 3 }));
    }
    const summary = aggregator.drain().deltas[0]!.summary;
    const bytes = summary.encode();
    const decoded = ModelSummary.decode(bytes);
    expect(decoded.encode().equals(bytes)).toBe(true);
    expect(decoded.count).toBe(500);
    expect(decoded.features.get('c')).toMatchObject({ logged: 500, nulls: 100 });
    expect(decoded.features.get('a')!.numeric!.digest.quantile(0.5)).toBeCloseTo(summary.features.get('a')!.numeric!.digest.quantile(0.5), 9);
  });

  it('merges stored deltas into the same totals as one pass', () => {
    const one = new Aggregator(options);
    const parts = [new Aggregator(options), new Aggregator(options)];
    for (let i = 0; i < 300; i++) {
      const e = event({ features: { a: i } });
      one.record(e);
      parts[i % 2]!.record(e);
    }
    const merged = ModelSummary.mergeAll(parts.map((part) => part.drain().deltas[0]!.summary.encode()));
    const single = one.drain().deltas[0]!.summary;
    expect(merged.count).toBe(single.count);
    expect(merged.features.get('a')!.numeric!.moments.sum).toBe(single.features.get('a')!.numeric!.moments.sum);
    expect(Math.abs(merged.features.get('a')!.numeric!.digest.quantile(0.9) - 270)).toBeLessThan(2);
  });

  it('merging encoded summaries directly gives the same bytes as decoding and merging them', () => {
    const blobs = [0, 1, 2, 3, 4].map((part) => {
      const aggregator = new Aggregator({ ...options, maxFeaturesPerModel: 10 });
      for (let i = 0; i < 400; i++) {
        const x = part * 400 + i;
        aggregator.record(event({ features: { a: Math.sin(x) * 100, b: `c${x % 9}`, c: x % 7 === 0 ? null : x / 3 }, latency_ms: x % 37, prediction: x % 5 }));
      }
      return aggregator.drain().deltas[0]!.summary.encode();
    });
    const decoded = ModelSummary.decode(blobs[0]!);
    for (const blob of blobs.slice(1)) decoded.merge(ModelSummary.decode(blob));
    const direct = ModelSummary.mergeAll(blobs);
    expect(direct.count).toBe(2000);
    expect(direct.encode().equals(decoded.encode())).toBe(true);
    expect(() => direct.mergeEncoded(Buffer.from([1, 2, 3]))).toThrow(/cannot decode model summary/);
  });

  it('rejects garbage bytes instead of returning nonsense', () => {
    expect(() => ModelSummary.decode(Buffer.from([9, 1, 2]))).toThrow();
    expect(() => ModelSummary.decode(Buffer.from([1, 5]))).toThrow();
  });
});
