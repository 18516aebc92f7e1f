import { describe, expect, it } from 'vitest';
import { PerformanceSummary, type LabeledPrediction } from '../../../src/aggregate/index.ts';
import { OTHER_CLASS } from '../../../src/aggregate/performance.ts';
import { createRandom } from '../../../src/random.ts';
import { exactClassification, exactRegression } from '../../kit/exact-performance.ts';

/** A 3-class classifier with softmax scores whose labels agree with the argmax ~70 % of the time. */
function multiclass(n: number, seed: number): LabeledPrediction[] {
  const random = createRandom(seed);
  const classes = ['a', 'b', 'c'];
  return Array.from({ length: n }, () => {
    const exps = classes.map(() => Math.exp(1.5 * random.normal()));
    const total = exps.reduce((x, y) => x + y, 0);
    const scores = Object.fromEntries(classes.map((c, i) => [c, exps[i]! / total]));
    const predicted = classes[exps.indexOf(Math.max(...exps))]!;
    // The label follows the scores: sample it from them, sharpened.
    const u = random.next();
    let acc = 0;
    let label = classes[2]!;
    for (const c of classes) {
      acc += scores[c]!;
      if (u < acc) {
        label = c;
        break;
      }
    }
    return { prediction: predicted, scores, label, delayMs: 1000 + 4000 * random.next() };
  });
}

/** A binary classifier scoring only its positive class "1", with numeric 0/1 labels. */
function binary(n: number, seed: number): LabeledPrediction[] {
  const random = createRandom(seed);
  return Array.from({ length: n }, () => {
    const positive = random.next() < 0.3;
    const score = 1 / (1 + Math.exp(-(random.normal() + (positive ? 1.2 : -0.8))));
    return { prediction: score >= 0.5 ? 1 : 0, scores: { '1': score }, label: positive ? 1 : 0, delayMs: 10 };
  });
}

const summarize = (samples: readonly LabeledPrediction[], parts = 1): PerformanceSummary => {
  // Split into parts, encode each, merge the decoded parts: what Redis buckets and windows do.
  const blobs = Array.from({ length: parts }, (_, part) => {
    const summary = new PerformanceSummary();
    samples.forEach((sample, i) => i % parts === part && summary.add(sample));
    return summary.encode();
  });
  return PerformanceSummary.mergeAll(blobs.reverse());
};

describe('PerformanceSummary', () => {
  it('multiclass: accuracy, precision, recall, F1 per class and macro, log loss and macro one-vs-rest AUC', () => {
    const samples = multiclass(20_000, 7);
    const exact = exactClassification(samples);
    const metrics = summarize(samples, 7).metrics();
    expect(metrics.labeled).toBe(samples.length);
    expect(Math.abs(metrics.accuracy! - exact.accuracy)).toBeLessThan(0.005);
    expect(Math.abs(metrics.precision_macro! - exact.precision_macro)).toBeLessThan(0.005);
    expect(Math.abs(metrics.recall_macro! - exact.recall_macro)).toBeLessThan(0.005);
    expect(Math.abs(metrics.f1_macro! - exact.f1_macro)).toBeLessThan(0.005);
    for (const c of ['a', 'b', 'c']) {
      expect(Math.abs(metrics.per_class![c]!.precision - exact.precision[c]!)).toBeLessThan(0.005);
      expect(Math.abs(metrics.per_class![c]!.recall - exact.recall[c]!)).toBeLessThan(0.005);
      expect(Math.abs(metrics.per_class![c]!.f1 - exact.f1[c]!)).toBeLessThan(0.005);
    }
    expect(Math.abs(metrics.log_loss! - exact.log_loss!)).toBeLessThan(1e-9);
    expect(Math.abs(metrics.auc! - exact.auc!)).toBeLessThan(0.01);
    expect(exact.auc!).toBeGreaterThan(0.6);
    expect(metrics.mae).toBeUndefined();
  });

  it('binary with one scored class and numeric labels: the complement is the other probability', () => {
    const samples = binary(10_000, 3);
    const exact = exactClassification(samples);
    const metrics = summarize(samples, 3).metrics();
    expect(Math.abs(metrics.accuracy! - exact.accuracy)).toBeLessThan(0.005);
    expect(Math.abs(metrics.f1_macro! - exact.f1_macro)).toBeLessThan(0.005);
    expect(Object.keys(metrics.per_class!).sort()).toEqual(['0', '1']);
    expect(Math.abs(metrics.log_loss! - exact.log_loss!)).toBeLessThan(1e-9);
    expect(Math.abs(metrics.auc! - exact.auc!)).toBeLessThan(0.01);
  });

  it('regression: MAE, RMSE and bias from exact sums', () => {
    const random = createRandom(11);
    const samples: LabeledPrediction[] = Array.from({ length: 5000 }, () => {
      const prediction = 50 + 10 * random.normal();
      return { prediction, scores: null, label: prediction - 0.3 + 2 * random.normal(), delayMs: 100 };
    });
    const exact = exactRegression(samples);
    const metrics = summarize(samples, 5).metrics();
    expect(metrics.mae! / exact.mae).toBeCloseTo(1, 9);
    expect(metrics.rmse! / exact.rmse).toBeCloseTo(1, 9);
    expect(metrics.bias!).toBeCloseTo(exact.bias, 9);
    expect(metrics.accuracy).toBeUndefined();
  });

  it('scikit-learn conventions on a tiny case: undefined precision counts as 0, macro over the union of classes', () => {
    const summary = new PerformanceSummary();
    const add = (prediction: string, label: string) => summary.add({ prediction, label, scores: null, delayMs: 0 });
    add('a', 'a');
    add('a', 'b');
    add('b', 'b');
    add('a', 'c'); // "c" is never predicted: precision 0, recall 0
    const m = summary.metrics();
    expect(m.accuracy).toBe(0.5);
    expect(m.per_class!['a']).toEqual({ precision: 1 / 3, recall: 1, f1: 0.5, support: 1 });
    expect(m.per_class!['c']).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(m.precision_macro).toBeCloseTo((1 / 3 + 1 + 0) / 3, 12);
    expect(m.log_loss).toBeUndefined();
    expect(m.auc).toBeUndefined();
  });

  it('caps classes: the rest are counted as __other__, nothing is lost', () => {
    const summary = new PerformanceSummary();
    for (let i = 0; i < 10; i++) summary.add({ prediction: `p${i}`, label: `p${i}`, scores: null, delayMs: 0 }, 4);
    expect(summary.classified).toBe(10);
    expect(summary.confusion.get(OTHER_CLASS)?.get(OTHER_CLASS)).toBe(6);
  });

  it('label delay quantiles come from the t-digest', () => {
    const samples = multiclass(5000, 5);
    const summary = summarize(samples, 2);
    expect(summary.delay.count).toBe(5000);
    expect(Math.abs(summary.delay.quantile(0.5) - 3000)).toBeLessThan(150);
  });

  it('encodes deterministically', () => {
    const samples = multiclass(500, 9);
    expect(summarize(samples).encode().equals(summarize(samples).encode())).toBe(true);
    expect(PerformanceSummary.decode(summarize(samples).encode()).encode().equals(summarize(samples).encode())).toBe(true);
  });
});
