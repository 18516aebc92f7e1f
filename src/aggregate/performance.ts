import { TDigest } from '../sketch/index.ts';
import { ByteReader, ByteWriter } from '../sketch/index.ts';

/**
 * Online model performance from labels joined to their predictions, in mergeable form: what one label
 * batch adds to one model's prediction-time bucket, what Redis keeps per bucket, and what a window
 * merges. Every part is a sum or a count (plus the label-delay t-digest), so buckets merge in any order
 * to the same metrics; only AUC is approximate (score histograms, see `auc`).
 */

const FORMAT_VERSION = 1;
/** Fixed score bins on [0, 1] per class for AUC: within-bin pairs count as ties (error ≤ share of such pairs / 2). */
export const SCORE_BINS = 100;
export const DEFAULT_CLASS_CAP = 50;
/** Classes beyond the cap are counted here, on either axis of the confusion matrix. */
export const OTHER_CLASS = '__other__';
/** Probabilities are clipped to [ε, 1 − ε] for log loss (scikit-learn's convention). */
const LOG_LOSS_EPSILON = 1e-15;

/** One label joined to its prediction. */
export interface LabeledPrediction {
  prediction: number | string;
  scores: Readonly<Record<string, number>> | null;
  label: number | string;
  /** observed_at − sent_at (ms); negative (clock skew) counts as 0. */
  delayMs: number;
}

export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  /** Labels of this class. */
  support: number;
}

export interface PerformanceMetrics {
  labeled: number;
  accuracy?: number;
  precision_macro?: number;
  recall_macro?: number;
  f1_macro?: number;
  per_class?: Record<string, ClassMetrics>;
  log_loss?: number;
  auc?: number;
  mae?: number;
  rmse?: number;
  bias?: number;
}

interface ScoreHistogram {
  positive: number[];
  negative: number[];
}

const className = (value: number | string): string => (typeof value === 'string' ? value : String(value));
const scoreBin = (score: number): number => Math.min(SCORE_BINS - 1, Math.max(0, Math.floor(score * SCORE_BINS)));

/**
 * A sample is classification when anything about it is a class: a string prediction or label, or
 * class scores. Otherwise (both numbers, no scores) it is regression, error = prediction − label.
 */
export function isClassification(sample: Pick<LabeledPrediction, 'prediction' | 'scores' | 'label'>): boolean {
  return typeof sample.prediction === 'string' || typeof sample.label === 'string' || sample.scores !== null;
}

export class PerformanceSummary {
  /** Labels joined to a prediction. */
  labeled = 0;
  /** observed_at − sent_at of every joined label (ms). */
  delay = new TDigest();
  regressionCount = 0;
  sumError = 0;
  sumAbsError = 0;
  sumSquaredError = 0;
  /** actual class → predicted class → count (classes capped, overflow in OTHER_CLASS). */
  readonly confusion = new Map<string, Map<string, number>>();
  logLossCount = 0;
  logLossSum = 0;
  /** class → score histograms of the labels that are (positive) or are not (negative) that class. */
  readonly scores = new Map<string, ScoreHistogram>();
  private readonly classes = new Set<string>();

  add(sample: LabeledPrediction, maxClasses = DEFAULT_CLASS_CAP): void {
    this.labeled++;
    this.delay.add(Math.max(0, sample.delayMs));
    if (!isClassification(sample)) {
      const error = (sample.prediction as number) - (sample.label as number);
      this.regressionCount++;
      this.sumError += error;
      this.sumAbsError += Math.abs(error);
      this.sumSquaredError += error * error;
      return;
    }
    const actual = className(sample.label);
    this.count(this.capped(actual, maxClasses), this.capped(className(sample.prediction), maxClasses), 1);
    const { scores } = sample;
    if (!scores) return;
    const entries = Object.entries(scores);
    // A binary classifier may score only its positive class: the label's probability is the complement.
    const probability = scores[actual] ?? (entries.length === 1 ? 1 - entries[0]![1] : 0);
    this.logLossCount++;
    this.logLossSum -= Math.log(Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, probability)));
    for (const [name, score] of entries) {
      let histogram = this.scores.get(name);
      if (!histogram) {
        if (this.scores.size >= maxClasses) continue;
        histogram = { positive: new Array<number>(SCORE_BINS).fill(0), negative: new Array<number>(SCORE_BINS).fill(0) };
        this.scores.set(name, histogram);
      }
      (name === actual ? histogram.positive : histogram.negative)[scoreBin(score)]!++;
    }
  }

  /** Classes are capped where samples are added; merging keeps the union (bounded by cap × summaries). */
  merge(other: PerformanceSummary, maxClasses = Number.POSITIVE_INFINITY): this {
    this.labeled += other.labeled;
    this.delay.merge(other.delay);
    this.regressionCount += other.regressionCount;
    this.sumError += other.sumError;
    this.sumAbsError += other.sumAbsError;
    this.sumSquaredError += other.sumSquaredError;
    for (const [actual, row] of other.confusion) {
      for (const [predicted, n] of row) this.count(this.capped(actual, maxClasses), this.capped(predicted, maxClasses), n);
    }
    this.logLossCount += other.logLossCount;
    this.logLossSum += other.logLossSum;
    for (const [name, histogram] of other.scores) {
      let mine = this.scores.get(name);
      if (!mine) {
        if (this.scores.size >= maxClasses) continue;
        mine = { positive: [...histogram.positive], negative: [...histogram.negative] };
        this.scores.set(name, mine);
        continue;
      }
      for (let bin = 0; bin < SCORE_BINS; bin++) {
        mine.positive[bin]! += histogram.positive[bin]!;
        mine.negative[bin]! += histogram.negative[bin]!;
      }
    }
    return this;
  }

  /** Classification samples (the confusion matrix total). */
  get classified(): number {
    let total = 0;
    for (const row of this.confusion.values()) for (const n of row.values()) total += n;
    return total;
  }

  metrics(): PerformanceMetrics {
    const result: PerformanceMetrics = { labeled: this.labeled };
    if (this.regressionCount > 0) {
      result.mae = this.sumAbsError / this.regressionCount;
      result.rmse = Math.sqrt(this.sumSquaredError / this.regressionCount);
      result.bias = this.sumError / this.regressionCount;
    }
    const total = this.classified;
    if (total > 0) {
      // Macro averages over every class seen as a label or a prediction, an undefined ratio counting
      // as 0 (scikit-learn's defaults: labels = union of y_true and y_pred, zero_division = 0).
      const classes = [...this.classes].sort();
      const perClass: Record<string, ClassMetrics> = {};
      let correct = 0;
      let precisionSum = 0;
      let recallSum = 0;
      let f1Sum = 0;
      for (const name of classes) {
        const truePositives = this.confusion.get(name)?.get(name) ?? 0;
        correct += truePositives;
        let support = 0;
        for (const n of this.confusion.get(name)?.values() ?? []) support += n;
        let predicted = 0;
        for (const row of this.confusion.values()) predicted += row.get(name) ?? 0;
        const precision = predicted > 0 ? truePositives / predicted : 0;
        const recall = support > 0 ? truePositives / support : 0;
        const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
        perClass[name] = { precision, recall, f1, support };
        precisionSum += precision;
        recallSum += recall;
        f1Sum += f1;
      }
      result.accuracy = correct / total;
      result.precision_macro = precisionSum / classes.length;
      result.recall_macro = recallSum / classes.length;
      result.f1_macro = f1Sum / classes.length;
      result.per_class = perClass;
    }
    if (this.logLossCount > 0) result.log_loss = this.logLossSum / this.logLossCount;
    const auc = this.auc();
    if (auc !== undefined) result.auc = auc;
    return result;
  }

  /**
   * One-vs-rest AUC per scored class from its histograms (Mann–Whitney: the share of positive/negative
   * pairs ordered right, pairs in one bin counted as ties), averaged over the classes that have both
   * positives and negatives: for a binary classifier that is its AUC, for a multiclass one the macro
   * one-vs-rest AUC (scikit-learn's roc_auc_score(multi_class="ovr", average="macro")).
   */
  auc(): number | undefined {
    let sum = 0;
    let classes = 0;
    for (const { positive, negative } of this.scores.values()) {
      let positives = 0;
      let negatives = 0;
      let pairs = 0;
      for (let bin = 0; bin < SCORE_BINS; bin++) {
        pairs += positive[bin]! * (negatives + 0.5 * negative[bin]!);
        positives += positive[bin]!;
        negatives += negative[bin]!;
      }
      if (positives === 0 || negatives === 0) continue;
      sum += pairs / (positives * negatives);
      classes++;
    }
    return classes > 0 ? sum / classes : undefined;
  }

  encode(): Buffer {
    const writer = new ByteWriter();
    writer.varint(FORMAT_VERSION).varint(this.labeled).bytes(this.delay.encode());
    writer.varint(this.regressionCount).f64(this.sumError).f64(this.sumAbsError).f64(this.sumSquaredError);
    writer.varint(this.logLossCount).f64(this.logLossSum);
    // Sorted names: the same summary always encodes to the same bytes.
    const actuals = [...this.confusion.keys()].sort();
    writer.varint(actuals.length);
    for (const actual of actuals) {
      const row = this.confusion.get(actual)!;
      writer.string(actual).varint(row.size);
      for (const predicted of [...row.keys()].sort()) writer.string(predicted).varint(row.get(predicted)!);
    }
    const scored = [...this.scores.keys()].sort();
    writer.varint(scored.length);
    for (const name of scored) {
      const { positive, negative } = this.scores.get(name)!;
      writer.string(name);
      for (let bin = 0; bin < SCORE_BINS; bin++) writer.varint(positive[bin]!).varint(negative[bin]!);
    }
    return writer.finishBuffer();
  }

  static decode(bytes: Buffer): PerformanceSummary {
    const reader = new ByteReader(bytes, 'performance summary');
    const version = reader.varint();
    if (version !== FORMAT_VERSION) throw new RangeError(`unknown performance summary version ${version}`);
    const summary = new PerformanceSummary();
    summary.labeled = reader.varint();
    summary.delay = TDigest.decode(reader.bytes());
    summary.regressionCount = reader.varint();
    summary.sumError = reader.f64();
    summary.sumAbsError = reader.f64();
    summary.sumSquaredError = reader.f64();
    summary.logLossCount = reader.varint();
    summary.logLossSum = reader.f64();
    const actuals = reader.varint();
    for (let i = 0; i < actuals; i++) {
      const actual = reader.string();
      const cells = reader.varint();
      for (let j = 0; j < cells; j++) summary.count(actual, reader.string(), reader.varint());
    }
    const scored = reader.varint();
    for (let i = 0; i < scored; i++) {
      const name = reader.string();
      const histogram: ScoreHistogram = { positive: new Array<number>(SCORE_BINS), negative: new Array<number>(SCORE_BINS) };
      for (let bin = 0; bin < SCORE_BINS; bin++) {
        histogram.positive[bin] = reader.varint();
        histogram.negative[bin] = reader.varint();
      }
      summary.scores.set(name, histogram);
    }
    return summary;
  }

  /** Decodes and merges many stored summaries (a bucket's appended deltas, or a window's buckets). */
  static mergeAll(encoded: Iterable<Buffer>): PerformanceSummary {
    const total = new PerformanceSummary();
    for (const bytes of encoded) total.merge(PerformanceSummary.decode(bytes));
    return total;
  }

  private capped(name: string, maxClasses: number): string {
    return this.classes.has(name) || this.classes.size < maxClasses ? name : OTHER_CLASS;
  }

  private count(actual: string, predicted: string, n: number): void {
    this.classes.add(actual).add(predicted);
    let row = this.confusion.get(actual);
    if (!row) {
      row = new Map();
      this.confusion.set(actual, row);
    }
    row.set(predicted, (row.get(predicted) ?? 0) + n);
  }
}
