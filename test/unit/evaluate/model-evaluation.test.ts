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
  missing?: number;
  category?: (u: number) => string;
  errors?: number;
  latency?: number;
  seed: number;
}

function summarize({ n, shift = 0, missing = 0, category, errors = 0, latency = 20, seed }: Shape): ModelSummary {
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
        moving: random.normal() + shift,
        sparse: random.next() < missing ? null : random.normal(),
        city: category ? category(random.next()) : random.next() < 0.5 ? 'a' : random.next() < 0.5 ? 'b' : 'c',
      },
      prediction: failed ? null : random.normal(),
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
