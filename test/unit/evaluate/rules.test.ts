import { describe, expect, it } from 'vitest';
import { effectiveRules, parseTopology } from '../../../src/config/topology.ts';
import { globToRegExp, rulesFor } from '../../../src/evaluate/rules.ts';

describe('rules', () => {
  it('globs match whole names', () => {
    expect(globToRegExp('eta-*').test('eta-v12')).toBe(true);
    expect(globToRegExp('eta-*').test('xeta-v12')).toBe(false);
    expect(globToRegExp('f?').test('f1')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });

  it('applies built-ins to everything and overrides by glob, in order', () => {
    const topology = parseTopology({
      rules: {
        defaults: [{ name: 'accuracy-drop', target: 'model', statistic: 'accuracy', below: 0.8, clear: 0.85, min_samples: 500 }],
        overrides: [
          { rule: 'feature-drift', match: { predictor: 'eta', feature: 'distance' }, above: 0.5, clear: 0.3, for: '2m' },
          { match: { model: 'canary-*' }, enabled: false },
        ],
      },
    });
    const rules = effectiveRules(topology);
    const distance = rulesFor(rules, topology.rules.overrides, { predictor: 'eta', model: 'v1', feature: 'distance' }, 'feature');
    const drift = distance.find((rule) => rule.name === 'feature-drift')!;
    expect(drift).toMatchObject({ threshold: 0.5, clearAt: 0.3, for: 120_000, direction: 'above', statistic: 'ks' });
    const other = rulesFor(rules, topology.rules.overrides, { predictor: 'eta', model: 'v1', feature: 'time' }, 'feature');
    expect(other.find((rule) => rule.name === 'feature-drift')).toMatchObject({ threshold: 0.1, clearAt: 0.05, for: 0, significance: 1e-8, window: '*' });
    expect(other.find((rule) => rule.name === 'feature-shape-drift')).toMatchObject({ statistic: 'shape', threshold: 0.25, significance: 1e-8, unless: 'feature-drift' });
    expect(rulesFor(rules, topology.rules.overrides, { predictor: 'eta', model: 'canary-3', feature: 'time' }, 'feature')).toEqual([]);
    const model = rulesFor(rules, topology.rules.overrides, { predictor: 'eta', model: 'v1' }, 'model');
    expect(model.map((rule) => rule.name).sort()).toEqual(['accuracy-drop', 'error-rate', 'latency-p99']);
    expect(model.find((rule) => rule.name === 'accuracy-drop')).toMatchObject({ direction: 'below', threshold: 0.8, clearAt: 0.85 });
  });

  it('rejects rules that cannot work, saying where', () => {
    expect(() => parseTopology({ rules: { defaults: [{ name: 'x', target: 'model', statistic: 'psi', above: 1 }] } })).toThrow(
      /rules\.defaults\.0\.statistic: "psi" is a feature statistic/,
    );
    expect(() => parseTopology({ rules: { defaults: [{ name: 'x', target: 'feature', statistic: 'psi', above: 0.1, clear: 0.2 }] } })).toThrow(
      /rules\.defaults\.0\.clear: the clear line must lie on the healthy side/,
    );
    expect(() => parseTopology({ rules: { defaults: [{ name: 'x', target: 'feature', statistic: 'psi' }] } })).toThrow(/exactly one of "above" or "below"/);
    expect(() => parseTopology({ rules: { defaults: [{ name: 'x', target: 'feature', statistic: 'psi', above: 1, window: '9m' }] } })).toThrow(
      /no current window named "9m"/,
    );
    expect(() => parseTopology({ rules: { defaults: [{ name: 'x', target: 'feature', statistic: 'psi', above: 1, unless: 'nope' }] } })).toThrow(
      /rules\.defaults\.0\.unless: no rule named "nope"/,
    );
    expect(() => parseTopology({ windows: { current: [{ name: '5s', duration: '5s' }] }, state: { retention: { recent: null } } })).toThrow(
      /windows\.current\.0\.duration: a window shorter than the fine bucket needs state\.retention\.recent/,
    );
    expect(() => parseTopology({ windows: { current: [{ name: '50s', duration: '50s' }] }, state: { retention: { recent: { bucket: '10s', keep: '30s' } } } })).toThrow(
      /windows\.current\.0\.duration: longer than state\.retention\.recent\.keep/,
    );
    expect(() => parseTopology({ state: { retention: { recent: { bucket: '7s', keep: '1m' } } } })).toThrow(/state\.retention\.recent\.bucket: expected a bucket smaller than the fine bucket that divides it/);
    // Fine buckets of 10 s or less: no recent resolution unless asked for.
    expect(parseTopology({ state: { retention: { fine: { bucket: '5s', keep: '1h' } } }, windows: { current: [{ name: '15s', duration: '15s' }] } }).state.retention.recent).toBeNull();
    expect(parseTopology({}).state.retention.recent).toEqual({ bucket: 10_000, keep: 60_000 });
    expect(() => parseTopology({ rules: { defaults: [{ name: 'x', target: 'feature', statistic: 'psi', above: 1, treshold: 2 }] } })).toThrow(
      /unknown key\(s\) "treshold"/,
    );
  });
});

describe('rules by role', () => {
  it('match the model role when the rule or override says so (primary when unknown)', () => {
    const topology = parseTopology({
      rules: {
        defaults: [{ name: 'canary-errors', target: 'model', statistic: 'error_rate', above: 0.01, match: { role: 'canary' } }],
        overrides: [{ match: { role: 'shadow' }, enabled: false }],
      },
    });
    const rules = effectiveRules(topology);
    const names = (role?: string) =>
      rulesFor(rules, topology.rules.overrides, { predictor: 'eta', model: 'v2', ...(role ? { role } : {}) }, 'model')
        .map((rule) => rule.name)
        .sort();
    expect(names('canary')).toEqual(['canary-errors', 'error-rate', 'latency-p99']);
    expect(names('primary')).toEqual(['error-rate', 'latency-p99']);
    expect(names()).toEqual(['error-rate', 'latency-p99']);
    expect(names('shadow')).toEqual([]);
    expect(() => parseTopology({ rules: { overrides: [{ match: { role: 'champion' } }] } })).toThrow(/rules\.overrides\.0\.match\.role/);
  });
});
