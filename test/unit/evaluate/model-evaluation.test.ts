import { describe, expect, it } from 'vitest';
import { Aggregator, type ModelSummary } from '../../../src/aggregate/index.ts';
import { effectiveRules, parseTopology } from '../../../src/config/topology.ts';
import type { PredictionEvent } from '../../../src/events.ts';
import type { AlertState } from '../../../src/evaluate/alert-machine.ts';
import { evaluateModel } from '../../../src/evaluate/model-evaluation.ts';
import { RuleBook } from '../../../src/evaluate/rules.ts';
import { createRandom } from '../../../src/random.ts';

const NOW = 1_700_000_000_000;

interface Shape {
  n: number;
  shift?: number;
  /** Spread of "moving" around its mean, and of the prediction. */
  scale?: number;
  predictionScale?: number;
  missing?: number;
  category?: (u: number) => string;
  errors?: number;
  latency?: number;
  seed: number;
}

function summarize({ n, shift = 0, scale = 1, predictionScale = 1, missing = 0, category, errors = 0, latency = 20, seed }: Shape): ModelSummary {
  const random = createRandom(seed);
  const aggregator = new Aggregator({ bucketMs: 3_600_000_000, maxModels: 10, maxFeaturesPerModel: 10, maxCategories: 20 });
  for (let i = 0; i < n; i++) {
    const failed = random.next() < errors;
    const event: PredictionEvent = {
      prediction_id: String(i),
      predictor_name: 'eta',
      model_id: 'v1',
      role: 'primary',
      sent_at: NOW,
      features: {
        stable: random.normal(),
        moving: scale * random.normal() + shift,
        sparse: random.next() < missing ? null : random.normal(),
        city: category ? category(random.next()) : random.next() < 0.5 ? 'a' : random.next() < 0.5 ? 'b' : 'c',
      },
      prediction: failed ? null : predictionScale * random.normal(),
      prediction_scores: null,
      default_values_used: [],
      latency_ms: latency * Math.exp(0.3 * random.normal()),
      error: failed ? 'E' : null,
    };
    aggregator.record(event);
  }
  return aggregator.drain().deltas[0]!.summary;
}

const topology = parseTopology({});
const rules = new RuleBook(effectiveRules(topology), topology.rules.overrides);
const run = (current: ModelSummary, reference: ModelSummary | null, states = new Map<string, AlertState>(), now = NOW) =>
  evaluateModel({
    predictor: 'eta',
    model: 'v1',
    features: ['city', 'moving', 'sparse', 'stable'],
    windows: [{ name: '1m', summary: current, seconds: 60 }],
    reference,
    referenceLabel: 'rolling 24h',
    rules,
    states,
    now,
  });

const reference = summarize({ n: 20_000, seed: 1 });

describe('evaluateModel', () => {
  it('a stationary window raises nothing', () => {
    const result = run(summarize({ n: 6000, seed: 2 }), reference);
    expect(result.changes.filter((change) => change.event)).toEqual([]);
    expect(result.features.get('stable')![0]!.values.psi).toBeLessThan(0.02);
  });

  it('a 1σ mean shift fires exactly the drift alert of that feature, with a sentence a human can act on', () => {
    const result = run(summarize({ n: 6000, shift: 1, seed: 3 }), reference);
    const events = result.changes.flatMap((change) => (change.event ? [change.event] : []));
    expect(events.map((event) => [event.rule, event.feature, event.state])).toEqual([['feature-drift', 'moving', 'firing']]);
    const [event] = events;
    expect(event!.value).toBeGreaterThan(0.3);
    expect(event!.threshold).toBe(0.1);
    expect(event!.summary).toMatch(/^feature "moving" of eta\/v1: KS distance is 0\.\d{3} over the last 1m vs the rolling 24h reference \(fires above 0\.100\), since 2023-11-14T22:13:20Z\.$/);
    expect(Number(event!.details['p_value'])).toBeLessThan(1e-6);
    expect(result.features.get('moving')![0]!.values.psi).toBeGreaterThan(0.5);
  });

  it('resolves once the statistic falls back past the clear line, keeping the incident id', () => {
    const fired = run(summarize({ n: 6000, shift: 1, seed: 3 }), reference);
    const states = new Map(fired.changes.filter((change) => change.state).map((change) => [change.field, change.state!]));
    const resolved = run(summarize({ n: 6000, seed: 4 }), reference, states, NOW + 60_000);
    const events = resolved.changes.flatMap((change) => (change.event ? [change.event] : []));
    expect(events.map((event) => [event.rule, event.state, event.id])).toEqual([['feature-drift', 'resolved', fired.changes[0]!.event!.id]]);
    expect(events[0]!.summary).toMatch(/^Resolved: feature "moving" of eta\/v1: KS distance is back to 0\.\d{3} \(clears at or below 0\.050\) after 1m/);
  });

  it('catches a doubled category share, a missing-value jump, errors and a latency jump', () => {
    const current = summarize({
      n: 6000,
      seed: 5,
      missing: 0.3,
      errors: 0.1,
      latency: 60,
      category: (u) => (u < 0.25 ? 'a' : u < 0.5 ? 'c' : 'b'),
    });
    const events = run(current, reference).changes.flatMap((change) => (change.event ? [`${change.event.rule}:${change.event.feature ?? ''}`] : []));
    expect(events.sort()).toEqual(['category-drift:city', 'error-rate:', 'latency-p99:', 'missing-values:sparse']);
  });

  it('does not fire on an effect that is not significant in a small window', () => {
    // A seeded small window whose KS is past the threshold while its p-value is not below 1e-6.
    const result = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16]
      .map((seed) => run(summarize({ n: 520, shift: 0.22, seed }), reference))
      .find((candidate) => {
        const values = candidate.features.get('moving')![0]!.values;
        return values.ks! > 0.1 && values.ks_p! > 1e-6;
      });
    expect(result).toBeDefined();
    expect(result!.changes.filter((change) => change.event)).toEqual([]);
  });

  it('says nothing with too few samples or no reference', () => {
    expect(run(summarize({ n: 100, shift: 3, seed: 6 }), reference).changes.filter((change) => change.event)).toEqual([]);
    expect(run(summarize({ n: 6000, shift: 3, seed: 6 }), null).changes.filter((change) => change.event)).toEqual([]);
  });
});

describe('evaluateModel over several windows', () => {
  const both = (short: ModelSummary, long: ModelSummary, states = new Map<string, AlertState>(), now = NOW) =>
    evaluateModel({
      predictor: 'eta',
      model: 'v1',
      features: ['city', 'moving', 'sparse', 'stable'],
      windows: [
        { name: '1m', summary: long, seconds: 60 },
        { name: '10s', summary: short, seconds: 10 },
      ],
      reference,
      referenceLabel: 'baseline',
      rules,
      states,
      now,
    });
  const events = (result: ReturnType<typeof both>) => result.changes.flatMap((change) => (change.event ? [change.event] : []));
  const stateOf = (result: ReturnType<typeof both>) => new Map(result.changes.filter((change) => change.state).map((change) => [change.field, change.state!]));

  it('fires from the short window when only it has moved far enough, and names it', () => {
    // 1,000 values fully shifted by 1σ in the last 10 s; the minute holds 6,000 of which 1,000 moved (KS ≈ 0.06).
    const short = summarize({ n: 1000, shift: 1, seed: 21 });
    const long = summarize({ n: 5000, seed: 22 });
    long.merge(short);
    const result = both(short, long);
    expect(result.features.get('moving')![0]!.values.ks).toBeLessThan(0.1);
    const [event, ...others] = events(result);
    expect(others).toEqual([]);
    expect(event).toMatchObject({ rule: 'feature-drift', feature: 'moving', state: 'firing', window: '10s' });
    expect(event!.summary).toContain('over the last 10s');
    expect(event!.details).toMatchObject({ samples: '1000', reference_samples: String(reference.features.get('moving')!.numeric!.moments.count) });
  });

  it('clears only when every window with enough samples is back past the clear line', () => {
    const shifted = summarize({ n: 1000, shift: 1, seed: 23 });
    const fired = both(shifted, shifted);
    expect(events(fired).map((event) => event.rule)).toEqual(['feature-drift']);
    // The shift ended: the last 10 s are clean, the minute still holds a third of shifted values.
    const clean = summarize({ n: 1000, seed: 24 });
    const minute = summarize({ n: 4000, seed: 25 });
    minute.merge(summarize({ n: 2000, shift: 1, seed: 26 }));
    const still = both(clean, minute, stateOf(fired), NOW + 10_000);
    expect(events(still)).toEqual([]);
    expect(still.active.get('feature-drift|moving')?.state.phase).toBe('firing');
    // Both clean: resolved, once.
    const resolved = both(clean, summarize({ n: 6000, seed: 27 }), stateOf(fired), NOW + 20_000);
    expect(events(resolved).map((event) => `${event.state}:${event.rule}`)).toEqual(['resolved:feature-drift']);
  });

  it('a window with too few samples has no say: the other one decides', () => {
    // 10 events/s: the 10 s window holds 100 values (< min_samples 500), the minute 600 shifted ones.
    const result = both(summarize({ n: 100, shift: 2, seed: 28 }), summarize({ n: 600, shift: 2, seed: 29 }));
    expect(events(result).map((event) => [event.rule, event.window])).toEqual([['feature-drift', '1m']]);
    expect(events(both(summarize({ n: 100, shift: 2, seed: 28 }), summarize({ n: 300, shift: 2, seed: 29 })))).toEqual([]);
  });

  it('a change of spread fires the shape rule (KS stays under its threshold), and the prediction its band rule', () => {
    // ×1.4: KS 0.081 (+ ~0.01 of noise at 5,000 values), shape 0.4, A² ≈ 190.
    const wider = summarize({ n: 5000, scale: 1.4, predictionScale: 1.4, seed: 30 });
    const result = both(wider, wider);
    const moving = result.features.get('moving')![1]!.values;
    expect(moving.ks).toBeLessThan(0.1);
    expect(moving.shape).toBeGreaterThan(0.35);
    expect(moving.ad_p).toBeLessThan(1e-8);
    expect(events(result).map((event) => [event.rule, event.feature, event.statistic]).sort()).toEqual([
      ['feature-shape-drift', 'moving', 'shape'],
      ['prediction-band-drift', '__prediction__', 'band_change'],
    ]);
  });

  it('the shape rule starts no incident while the location rule is active on the series', () => {
    // A 3σ shift half-way through the 10 s window: bimodal, so its shape reads large as well.
    const short = summarize({ n: 500, seed: 31 });
    short.merge(summarize({ n: 500, shift: 3, seed: 32 }));
    const result = both(short, short);
    expect(result.features.get('moving')![1]!.values.shape).toBeGreaterThan(0.25);
    // (Out-of-range fires too: half the window sits 3σ out.)
    expect(events(result).flatMap((event) => (event.rule.startsWith('feature-') ? [event.rule] : []))).toEqual(['feature-drift']);
    // Without the location rule (disabled by an override), the same window fires the shape rule.
    const topology = parseTopology({ rules: { overrides: [{ rule: 'feature-drift', match: {}, enabled: false }] } });
    const alone = evaluateModel({
      predictor: 'eta',
      model: 'v1',
      features: ['moving'],
      windows: [{ name: '10s', summary: short, seconds: 10 }],
      reference,
      referenceLabel: 'baseline',
      rules: new RuleBook(effectiveRules(topology), topology.rules.overrides),
      states: new Map(),
      now: NOW,
    });
    expect(alone.changes.flatMap((change) => (change.event?.rule.startsWith('feature-') ? [change.event.rule] : []))).toEqual(['feature-shape-drift']);
  });
});
