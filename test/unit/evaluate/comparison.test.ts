import { describe, expect, it } from 'vitest';
import { ModelSummary, PairStats, PerformanceSummary } from '../../../src/aggregate/index.ts';
import { parseTopology } from '../../../src/config/topology.ts';
import { comparisonEvidence, evaluateComparison, type ComparisonInput, type ComparisonProgress } from '../../../src/evaluate/comparison.ts';
import type { ComparisonRule } from '../../../src/evaluate/comparison-model.ts';
import { createRandom } from '../../../src/random.ts';

const MINUTE = 60_000;
const T0 = 1_700_000_000_000;
const settings = (comparisons: Record<string, unknown> = {}) => parseTopology({ comparisons: { min_duration: '10m', ...comparisons } }).comparisons;

/** Labelled classifier predictions: correct with probability `accuracy`. */
function labelled(n: number, accuracy: number, seed: number): PerformanceSummary {
  const random = createRandom(seed);
  const summary = new PerformanceSummary();
  for (let i = 0; i < n; i++) summary.add({ prediction: 'a', scores: null, label: random.next() < accuracy ? 'a' : 'b', delayMs: 5000 });
  return summary;
}

function windowOf(count: number, latencyMs: number): ModelSummary {
  const summary = new ModelSummary();
  const random = createRandom(count);
  summary.count = count;
  for (let i = 0; i < count; i++) {
    summary.latency.add(latencyMs * Math.exp(0.2 * random.normal()));
    summary.prediction.add(random.next() < 0.5 ? 'a' : 'b', 10);
  }
  return summary;
}

const progress = (overrides: Partial<ComparisonProgress> = {}): ComparisonProgress => ({
  baseline: 'eta/v1',
  baseline_model: 'v1',
  started_at: T0,
  anchor: T0,
  snapshot: { candidate: { count: 0, errors: 0 }, baseline: { count: 0, errors: 0 } },
  breaches: {},
  ...overrides,
});

function input(overrides: Partial<ComparisonInput> & { elapsed?: number }): ComparisonInput {
  const s = overrides.settings ?? settings();
  const { elapsed = 20 * MINUTE, ...rest } = overrides;
  return {
    predictor: 'eta',
    candidate: { model: 'v2', role: 'canary' },
    baseline: { key: 'eta/v1', model: 'v1' },
    now: T0 + elapsed,
    progress: progress(),
    settings: s,
    rules: s.rules,
    maxDurationMs: s.max_duration,
    totals: { candidate: { count: 3000, errors: 15 }, baseline: { count: 27000, errors: 135 } },
    window: { name: '1m', candidate: windowOf(600, 20), baseline: windowOf(5400, 20) },
    ...rest,
  };
}

describe('evaluateComparison', () => {
  it('rolls back a canary whose accuracy is worse than the margin, saying by how much and on what', () => {
    const result = evaluateComparison(input({ performance: { candidate: labelled(600, 0.75, 1), baseline: labelled(5400, 0.9, 2) } }));
    expect(result.state).toBe('rollback');
    expect(result.decision).toMatchObject({ decision: 'rollback', trigger: 'accuracy' });
    const reading = result.statistics.accuracy_difference!;
    expect(reading.upper!).toBeLessThan(-0.02);
    expect(reading.value).toBeCloseTo(reading.candidate! - reading.baseline!, 12);
    expect(result.decision!.reason).toMatch(/^canary eta\/v2: accuracy 7\d\.\d% vs (89|90)\.\d% for v1 \(difference −1\d\.\d points, confidence sequence \[−\d+\.\d, −\d+\.\d\]\) is worse than the 2-point margin with 97\.5% confidence, after 600 labelled predictions \(5,400 for the baseline\)\.$/);
    const evidence = comparisonEvidence(result, input({}));
    expect(evidence).toMatchObject({ alpha: 0.05, alpha_per_test: 0.025, margin: 0.02, 'candidate.labeled': 600, 'baseline.labeled': 5400 });
    expect(evidence['accuracy_difference.upper']).toBe(reading.upper);
  });

  it('waits for the minimum samples before any test decides', () => {
    const result = evaluateComparison(input({ performance: { candidate: labelled(150, 0.5, 1), baseline: labelled(5400, 0.9, 2) } }));
    expect(result.state).toBe('running');
    expect(result.eta).toMatchObject({ towards: 'rollback' });
  });

  it('promotes an equal canary only once it is confidently within the margin and the minimum duration has passed', () => {
    const equal = { candidate: labelled(600, 0.9, 3), baseline: labelled(5400, 0.9, 4) };
    const early = evaluateComparison(input({ performance: equal }));
    expect(early.state).toBe('running');
    expect(early.eta?.towards).toBe('promote');
    expect(early.eta!.seconds).toBeGreaterThan(0);
    const plenty = { candidate: labelled(6000, 0.9, 3), baseline: labelled(54000, 0.9, 4) };
    const tooSoon = evaluateComparison(input({ performance: plenty, elapsed: 5 * MINUTE, totals: { candidate: { count: 6000, errors: 30 }, baseline: { count: 54000, errors: 270 } } }));
    expect(tooSoon.state).toBe('running');
    expect(tooSoon.eta).toEqual({ towards: 'promote', seconds: 300 });
    const promoted = evaluateComparison(input({ performance: plenty, totals: { candidate: { count: 6000, errors: 30 }, baseline: { count: 54000, errors: 270 } } }));
    expect(promoted.decision).toMatchObject({ decision: 'promote', trigger: 'accuracy' });
    expect(promoted.decision!.reason).toMatch(/is not worse than the 2-point margin with 97\.5% confidence, after 20m and 6,000 labelled predictions; every guard-rail holds\.$/);
  });

  it('promotes a better canary after the minimum duration', () => {
    const better = { candidate: labelled(800, 0.97, 5), baseline: labelled(7200, 0.9, 6) };
    expect(evaluateComparison(input({ performance: better, elapsed: 9 * MINUTE })).state).toBe('running');
    expect(evaluateComparison(input({ performance: better })).decision?.decision).toBe('promote');
  });

  it('rolls back on the error-rate guard-rail (sequential: no point-estimate noise)', () => {
    const performance = { candidate: labelled(600, 0.9, 7), baseline: labelled(5400, 0.9, 8) };
    const worse = evaluateComparison(input({ performance, totals: { candidate: { count: 3000, errors: 150 }, baseline: { count: 27000, errors: 135 } } }));
    expect(worse.decision).toMatchObject({ decision: 'rollback', trigger: 'error-rate' });
    expect(worse.decision!.reason).toMatch(/error rate minus the baseline's is 4\.5% \(at least \d\.\d% with 97\.5% confidence\), above the "error-rate" guard-rail's 1\.0%, over 3,000 samples\.$/);
    // Counted since the comparison started: errors before it do not count.
    const before = evaluateComparison(
      input({ performance, progress: progress({ snapshot: { candidate: { count: 1000, errors: 140 }, baseline: { count: 1000, errors: 5 } } }), totals: { candidate: { count: 4000, errors: 155 }, baseline: { count: 28000, errors: 140 } } }),
    );
    expect(before.statistics.error_rate_difference!.value).toBeCloseTo(0, 3);
    expect(before.rules.find((rule) => rule.name === 'error-rate')!.state).toBe('ok');
  });

  it('holds a latency breach for its `for` duration before it rolls back', () => {
    const slow = { name: '1m', candidate: windowOf(600, 60), baseline: windowOf(5400, 20) };
    const first = evaluateComparison(input({ window: slow }));
    expect(first.rules.find((rule) => rule.name === 'latency-p99')).toMatchObject({ state: 'pending', since: T0 + 20 * MINUTE });
    expect(first.state).toBe('running');
    const later = evaluateComparison(input({ window: slow, elapsed: 21 * MINUTE, progress: progress({ breaches: first.progress.breaches }) }));
    expect(later.decision).toMatchObject({ decision: 'rollback', trigger: 'latency-p99' });
    expect(later.decision!.reason).toMatch(/p99 latency ratio to the baseline is 3\.\d+ for 1m, above the "latency-p99" guard-rail's 2\.00/);
    // Back under the line: the breach is forgotten.
    expect(evaluateComparison(input({ progress: progress({ breaches: first.progress.breaches }) })).progress.breaches).toEqual({});
  });

  it('rolls back a shadow by a rule on agreement, and keeps one that mostly agrees', () => {
    const s = settings({ rules: [{ name: 'shadow-agreement', statistic: 'agreement', below: 0.9, match: { role: 'shadow' } }] });
    const pairs = (disagreement: number) => {
      const stats = new PairStats();
      const random = createRandom(11);
      for (let i = 0; i < 2000; i++) stats.add(i, random.next() < disagreement ? 'b' : 'a', 'a');
      return stats;
    };
    const shadow = { candidate: { model: 'v3', role: 'shadow' as const }, settings: s, rules: s.rules as ComparisonRule[], elapsed: 5 * MINUTE };
    const bad = evaluateComparison(input({ ...shadow, pairs: pairs(0.3) }));
    expect(bad.decision).toMatchObject({ decision: 'rollback', trigger: 'shadow-agreement' });
    expect(bad.decision!.reason).toMatch(/^shadow eta\/v3: agreement with the baseline on the same requests is \d\d\.\d% \(at most \d\d\.\d% with 98\.33% confidence\), below the "shadow-agreement" guard-rail's 90\.0%, over 2,000 samples\.$/);
    const good = evaluateComparison(input({ ...shadow, pairs: pairs(0.02) }));
    expect(good.state).toBe('running');
    expect(good.rules.find((rule) => rule.name === 'shadow-agreement')!.state).toBe('ok');
    // Without labels, after the minimum duration, a shadow whose guard-rails hold is promoted.
    expect(evaluateComparison(input({ ...shadow, pairs: pairs(0.02), elapsed: 11 * MINUTE })).decision).toMatchObject({ decision: 'promote', trigger: 'guard-rails' });
  });

  it('expires without a verdict past the maximum duration', () => {
    const result = evaluateComparison(input({ performance: { candidate: labelled(600, 0.75, 1), baseline: labelled(5400, 0.9, 2) }, maxDurationMs: 10 * MINUTE }));
    expect(result.state).toBe('expired');
    expect(result.decision).toBeNull();
  });
});
