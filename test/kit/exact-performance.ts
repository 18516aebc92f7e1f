import type { LabeledPrediction } from '../../src/aggregate/index.ts';

/**
 * Performance metrics computed exactly from raw samples (scikit-learn's definitions), the truth that
 * PerformanceSummary is held to in unit and integration tests.
 */
export interface ExactPerformance {
  accuracy: number;
  precision: Record<string, number>;
  recall: Record<string, number>;
  f1: Record<string, number>;
  precision_macro: number;
  recall_macro: number;
  f1_macro: number;
  log_loss: number | undefined;
  auc: number | undefined;
}

const name = (value: number | string): string => String(value);

/** Mann–Whitney AUC with average ranks for ties. */
export function exactAuc(scores: readonly number[], positive: readonly boolean[]): number | undefined {
  const order = scores.map((score, i) => [score, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(scores.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
    for (let k = start; k <= end; k++) ranks[order[k]![1]] = (start + end) / 2 + 1;
    start = end + 1;
  }
  let positives = 0;
  let rankSum = 0;
  positive.forEach((isPositive, i) => {
    if (isPositive) {
      positives++;
      rankSum += ranks[i]!;
    }
  });
  const negatives = scores.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function exactClassification(samples: readonly LabeledPrediction[]): ExactPerformance {
  const classes = [...new Set(samples.flatMap((s) => [name(s.label), name(s.prediction)]))].sort();
  const precision: Record<string, number> = {};
  const recall: Record<string, number> = {};
  const f1: Record<string, number> = {};
  let correct = 0;
  for (const s of samples) if (name(s.label) === name(s.prediction)) correct++;
  for (const c of classes) {
    const tp = samples.filter((s) => name(s.label) === c && name(s.prediction) === c).length;
    const predicted = samples.filter((s) => name(s.prediction) === c).length;
    const actual = samples.filter((s) => name(s.label) === c).length;
    precision[c] = predicted > 0 ? tp / predicted : 0;
    recall[c] = actual > 0 ? tp / actual : 0;
    f1[c] = precision[c]! + recall[c]! > 0 ? (2 * precision[c]! * recall[c]!) / (precision[c]! + recall[c]!) : 0;
  }
  const mean = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0) / classes.length;

  const scored = samples.filter((s) => s.scores !== null);
  let logLoss: number | undefined;
  let auc: number | undefined;
  if (scored.length > 0) {
    logLoss =
      scored.reduce((sum, s) => {
        const entries = Object.entries(s.scores!);
        const p = s.scores![name(s.label)] ?? (entries.length === 1 ? 1 - entries[0]![1] : 0);
        return sum - Math.log(Math.min(1 - 1e-15, Math.max(1e-15, p)));
      }, 0) / scored.length;
    const scoredClasses = [...new Set(scored.flatMap((s) => Object.keys(s.scores!)))];
    const aucs = scoredClasses
      .map((c) => {
        const rows = scored.filter((s) => s.scores![c] !== undefined);
        return exactAuc(
          rows.map((s) => s.scores![c]!),
          rows.map((s) => name(s.label) === c),
        );
      })
      .filter((value): value is number => value !== undefined);
    auc = aucs.length > 0 ? aucs.reduce((a, b) => a + b, 0) / aucs.length : undefined;
  }
  return {
    accuracy: correct / samples.length,
    precision,
    recall,
    f1,
    precision_macro: mean(precision),
    recall_macro: mean(recall),
    f1_macro: mean(f1),
    log_loss: logLoss,
    auc,
  };
}

export function exactRegression(samples: readonly LabeledPrediction[]): { mae: number; rmse: number; bias: number } {
  let abs = 0;
  let squared = 0;
  let sum = 0;
  for (const s of samples) {
    const error = (s.prediction as number) - (s.label as number);
    abs += Math.abs(error);
    squared += error * error;
    sum += error;
  }
  return { mae: abs / samples.length, rmse: Math.sqrt(squared / samples.length), bias: sum / samples.length };
}

/** Spearman's rank correlation of all pairs, exactly (average ranks for ties): the truth PairStats is held to. */
export function exactSpearman(x: readonly number[], y: readonly number[]): number {
  const ranks = (values: readonly number[]) => {
    const order = values.map((value, i) => [value, i] as const).sort((a, b) => a[0] - b[0]);
    const out = new Array<number>(values.length);
    for (let start = 0; start < order.length; ) {
      let end = start;
      while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
      for (let k = start; k <= end; k++) out[order[k]![1]] = (start + end) / 2 + 1;
      start = end + 1;
    }
    return out;
  };
  const rx = ranks(x);
  const ry = ranks(y);
  const mean = (x.length + 1) / 2;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (rx[i]! - mean) * (ry[i]! - mean);
    sxx += (rx[i]! - mean) ** 2;
    syy += (ry[i]! - mean) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
