import { ByteReader, ByteWriter } from '../sketch/index.ts';

/**
 * Paired predictions: a shadow's answer and its primary's answer to the same request (joined by
 * `request_id`, join/plan-pairs.ts). Kept per shadow model and request-time bucket, per primary it was
 * paired with, in mergeable form: exact counts and sums (agreement of classes; mean, absolute and
 * squared differences of numbers) plus, for the rank correlation of numbers, a bottom-k sample — the
 * K pairs with the smallest hash of their request id — which merges exactly (union, keep the K
 * smallest) and is a uniform sample of the pairs: Spearman's ρ is exact up to K pairs, and within
 * about (1 − ρ²)/√K of it beyond.
 */

const FORMAT_VERSION = 1;
export const PAIR_SAMPLE_SIZE = 4096;

/** One side of a pair: a class or a number. */
export type PairValue = number | string;

export class PairStats {
  /** Pairs of classes (either side a string). */
  classPairs = 0;
  agree = 0;
  /** Pairs of numbers: d = candidate − baseline. */
  numeric = 0;
  sumDiff = 0;
  sumAbs = 0;
  sumSquares = 0;
  /** The bottom-k sample of numeric pairs, ordered by hash. */
  readonly hashes: number[] = [];
  readonly candidates: number[] = [];
  readonly baselines: number[] = [];

  get pairs(): number {
    return this.classPairs + this.numeric;
  }

  add(hash: number, candidate: PairValue, baseline: PairValue): void {
    if (typeof candidate === 'string' || typeof baseline === 'string') {
      this.classPairs++;
      if (String(candidate) === String(baseline)) this.agree++;
      return;
    }
    const d = candidate - baseline;
    this.numeric++;
    this.sumDiff += d;
    this.sumAbs += Math.abs(d);
    this.sumSquares += d * d;
    this.sample(hash, candidate, baseline);
  }

  merge(other: PairStats): this {
    this.classPairs += other.classPairs;
    this.agree += other.agree;
    this.numeric += other.numeric;
    this.sumDiff += other.sumDiff;
    this.sumAbs += other.sumAbs;
    this.sumSquares += other.sumSquares;
    for (let i = 0; i < other.hashes.length; i++) this.sample(other.hashes[i]!, other.candidates[i]!, other.baselines[i]!);
    return this;
  }

  /** Spearman's rank correlation of the sampled numeric pairs (average ranks for ties); undefined below 3 pairs or without spread. */
  rankCorrelation(): number | undefined {
    const n = this.hashes.length;
    if (n < 3) return undefined;
    const x = averageRanks(this.candidates);
    const y = averageRanks(this.baselines);
    const mean = (n + 1) / 2;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < n; i++) {
      sxy += (x[i]! - mean) * (y[i]! - mean);
      sxx += (x[i]! - mean) ** 2;
      syy += (y[i]! - mean) ** 2;
    }
    return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : undefined;
  }

  private sample(hash: number, candidate: number, baseline: number): void {
    const hashes = this.hashes;
    if (hashes.length >= PAIR_SAMPLE_SIZE && hash >= hashes[hashes.length - 1]!) return;
    // Insert in hash order (binary search), then drop the largest beyond K.
    let low = 0;
    let high = hashes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (hashes[mid]! <= hash) low = mid + 1;
      else high = mid;
    }
    hashes.splice(low, 0, hash);
    this.candidates.splice(low, 0, candidate);
    this.baselines.splice(low, 0, baseline);
    if (hashes.length > PAIR_SAMPLE_SIZE) {
      hashes.pop();
      this.candidates.pop();
      this.baselines.pop();
    }
  }

  encodeInto(writer: ByteWriter): void {
    writer.varint(this.classPairs).varint(this.agree).varint(this.numeric);
    writer.f64(this.sumDiff).f64(this.sumAbs).f64(this.sumSquares);
    writer.varint(this.hashes.length);
    for (let i = 0; i < this.hashes.length; i++) writer.varint(this.hashes[i]!).f64(this.candidates[i]!).f64(this.baselines[i]!);
  }

  static decodeFrom(reader: ByteReader): PairStats {
    const stats = new PairStats();
    stats.classPairs = reader.varint();
    stats.agree = reader.varint();
    stats.numeric = reader.varint();
    stats.sumDiff = reader.f64();
    stats.sumAbs = reader.f64();
    stats.sumSquares = reader.f64();
    for (let n = reader.varint(); n > 0; n--) {
      stats.hashes.push(reader.varint());
      stats.candidates.push(reader.f64());
      stats.baselines.push(reader.f64());
    }
    return stats;
  }
}

function averageRanks(values: readonly number[]): number[] {
  const order = values.map((value, i) => [value, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
    for (let k = start; k <= end; k++) ranks[order[k]![1]] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return ranks;
}

/** A shadow model's pairs, per primary model (key) it was paired with. */
export class PairSummary {
  readonly byBaseline = new Map<string, PairStats>();

  stats(baseline: string): PairStats {
    let stats = this.byBaseline.get(baseline);
    if (!stats) this.byBaseline.set(baseline, (stats = new PairStats()));
    return stats;
  }

  add(baseline: string, hash: number, candidate: PairValue, baselineValue: PairValue): void {
    this.stats(baseline).add(hash, candidate, baselineValue);
  }

  merge(other: PairSummary): this {
    for (const [baseline, stats] of other.byBaseline) this.stats(baseline).merge(stats);
    return this;
  }

  encode(): Buffer {
    const writer = new ByteWriter();
    writer.varint(FORMAT_VERSION);
    // Sorted keys: the same summary always encodes to the same bytes.
    const keys = [...this.byBaseline.keys()].sort();
    writer.varint(keys.length);
    for (const key of keys) {
      writer.string(key);
      this.byBaseline.get(key)!.encodeInto(writer);
    }
    return writer.finishBuffer();
  }

  static decode(bytes: Buffer): PairSummary {
    const reader = new ByteReader(bytes, 'pair summary');
    const version = reader.varint();
    if (version !== FORMAT_VERSION) reader.fail(`unknown version ${version}`);
    const summary = new PairSummary();
    for (let n = reader.varint(); n > 0; n--) {
      const key = reader.string();
      summary.byBaseline.set(key, PairStats.decodeFrom(reader));
    }
    reader.end();
    return summary;
  }

  /** Decodes and merges many stored summaries (a bucket's appended deltas, or a span's buckets). */
  static mergeAll(encoded: Iterable<Buffer>): PairSummary {
    const total = new PairSummary();
    for (const bytes of encoded) total.merge(PairSummary.decode(bytes));
    return total;
  }
}
