import { describe, expect, it } from 'vitest';
import { loadTopology, parseTopology } from '../../../src/config/topology.ts';

describe('topology comparisons', () => {
  it('has defaults, built-in guard-rails, and the verdicts topic', () => {
    const topology = parseTopology({});
    expect(topology.comparisons).toMatchObject({ enabled: true, alpha: 0.05, metric: 'auto', accuracy_margin: 0.02, min_samples: 200, window: 300_000, min_duration: 1_800_000, audit_ttl: 90 * 86_400_000, pins: [] });
    expect(topology.comparisons.rules.map((rule) => [rule.name, rule.statistic, rule.above, rule.for])).toEqual([
      ['error-rate', 'error_rate_difference', 0.01, 0],
      ['latency-p99', 'latency_p99_ratio', 2, 60_000],
    ]);
    expect(topology.sinks.verdicts_topic).toBe('driftwatch.verdicts');
    // topologies/default.yaml spells out the same.
    expect(loadTopology('topologies/default.yaml').comparisons).toEqual(topology.comparisons);
  });

  it('accepts a bare list as pinned baselines, replaces a built-in guard-rail by name, adds others', () => {
    const pinned = parseTopology({ comparisons: [{ predictor: 'eta', baseline_model: 'eta-v12' }] }).comparisons;
    expect(pinned.pins).toEqual([{ predictor: 'eta', baseline_model: 'eta-v12', candidate_model: '*' }]);
    const rules = parseTopology({
      comparisons: { rules: [{ name: 'latency-p99', statistic: 'latency_p99_ratio', above: 3 }, { name: 'agree', statistic: 'agreement', below: 0.95, match: { role: 'shadow' } }] },
    }).comparisons.rules;
    expect(rules.map((rule) => [rule.name, rule.above ?? rule.below, rule.match.role])).toEqual([
      ['error-rate', 0.01, '*'],
      ['latency-p99', 3, '*'],
      ['agree', 0.95, 'shadow'],
    ]);
    expect(parseTopology({ comparisons: { builtin_rules: false } }).comparisons.rules).toEqual([]);
  });

  it('rejects what cannot work, saying where', () => {
    expect(() => parseTopology({ comparisons: { alpha: 0.7 } })).toThrow(/comparisons\.alpha/);
    expect(() => parseTopology({ comparisons: { rules: [{ name: 'x', statistic: 'psi', above: 1 }] } })).toThrow(/comparisons\.rules\.0\.statistic/);
    expect(() => parseTopology({ comparisons: { rules: [{ name: 'x', statistic: 'agreement' }] } })).toThrow(/exactly one of "above" or "below"/);
    expect(() => parseTopology({ comparisons: { margin: 0.1 } })).toThrow(/unknown key\(s\) "margin"/);
    expect(() => parseTopology({ state: { retention: { fine: { bucket: '1m', keep: '30m' } } } })).toThrow(/state\.retention\.fine\.keep: must be at least the coarse bucket/);
    expect(parseTopology({ state: { retention: { fine: { bucket: '1m', keep: '30m' } } }, comparisons: { enabled: false } }).comparisons.enabled).toBe(false);
  });
});
