import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BulkHistogram } from '../../../src/telemetry/bulk-histogram.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const OBSERVED: [string, string, number][] = [
  ['eta', 'v1', 0.0005],
  ['eta', 'v1', 0.001], // on a bound: that bucket (le is inclusive)
  ['eta', 'v1', 0.05],
  ['eta', 'v1', 7], // past the last bound: +Inf only
  ['eta', 'v2', 0.01],
  ['fraud', 'v1', 0],
  ['fraud', 'v1', 0.3],
];

function registries() {
  const reference = new Registry();
  const bulk = new Registry();
  const histogram = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['predictor', 'model'] as const, buckets: BUCKETS, registers: [reference] });
  const ours = new BulkHistogram('x_seconds', 'h', ['predictor', 'model'] as const, BUCKETS, [bulk]);
  for (const [predictor, model, value] of OBSERVED) {
    histogram.labels({ predictor, model }).observe(value);
    ours.labels({ predictor, model }).observe(value);
  }
  return { reference, bulk, ours };
}

describe('BulkHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations, as text and as JSON", async () => {
    const { reference, bulk } = registries();
    const text = await bulk.metrics();
    expect(text).toBe(await reference.metrics());
    expect(text).toContain('x_seconds_bucket{le="0.001",predictor="eta",model="v1"} 2');
    expect(text).toContain('x_seconds_bucket{le="+Inf",predictor="eta",model="v1"} 4');
    expect(await bulk.getMetricsAsJSON()).toEqual(await reference.getMetricsAsJSON());
  });

  it('keeps one child per label combination, skips values that are not finite, and resets', async () => {
    const { bulk, ours } = registries();
    expect(ours.labels({ predictor: 'eta', model: 'v1' })).toBe(ours.labels({ model: 'v1', predictor: 'eta' }));
    ours.labels({ predictor: 'eta', model: 'v1' }).observe(Number.NaN);
    ours.labels({ predictor: 'eta', model: 'v1' }).observe(Number.POSITIVE_INFINITY);
    expect(await bulk.metrics()).toContain('x_seconds_count{predictor="eta",model="v1"} 4');
    bulk.resetMetrics();
    expect(await bulk.metrics()).not.toContain('x_seconds_count');
  });
});
