import type { FeatureValue } from '../events.ts';
import { ByteReader, ByteWriter, CategoryCounts, Moments, TDigest } from '../sketch/index.ts';

const FORMAT_VERSION = 1;

export interface SummaryLimits {
  maxFeatures: number;
  maxCategories: number;
}

/**
 * Everything known about one feature (or the prediction) over some events: how often it was logged,
 * null or defaulted, and its distribution — numeric values in moments + a t-digest, categorical
 * values (strings, booleans) in capped category counts. A feature that carries both kinds keeps both;
 * the evaluator reports the dominant one.
 */
export class ValueSummary {
  /** Events that carried the key, null included. */
  logged = 0;
  nulls = 0;
  defaults = 0;
  numeric: { moments: Moments; digest: TDigest } | null = null;
  categories: CategoryCounts | null = null;

  add(value: FeatureValue | undefined, maxCategories: number): void {
    if (value === undefined) return;
    this.logged++;
    if (value === null) {
      this.nulls++;
    } else if (typeof value === 'number') {
      this.numeric ??= { moments: new Moments(), digest: new TDigest() };
      this.numeric.moments.add(value);
      this.numeric.digest.add(value);
    } else {
      this.categories ??= new CategoryCounts(maxCategories);
      this.categories.add(typeof value === 'boolean' ? String(value) : value);
    }
  }

  merge(other: ValueSummary): void {
    this.logged += other.logged;
    this.nulls += other.nulls;
    this.defaults += other.defaults;
    if (other.numeric) {
      if (this.numeric) {
        this.numeric.moments.merge(other.numeric.moments);
        this.numeric.digest.merge(other.numeric.digest);
      } else {
        this.numeric = { moments: other.numeric.moments.clone(), digest: other.numeric.digest.clone() };
      }
    }
    if (other.categories) {
      if (this.categories) this.categories.merge(other.categories);
      else this.categories = other.categories.clone();
    }
  }

  encodeInto(writer: ByteWriter): void {
    writer.varint(this.logged);
    writer.varint(this.nulls);
    writer.varint(this.defaults);
    writer.u8((this.numeric ? 1 : 0) | (this.categories ? 2 : 0));
    if (this.numeric) {
      writer.bytes(this.numeric.moments.encode());
      this.numeric.digest.encodeInto(writer);
    }
    if (this.categories) writer.bytes(this.categories.encode());
  }

  /** Merges an encoded ValueSummary in without building it (digests fold their bytes in directly). */
  mergeFrom(reader: ByteReader): void {
    this.logged += reader.varint();
    this.nulls += reader.varint();
    this.defaults += reader.varint();
    const flags = reader.u8();
    if (flags & 1) {
      const moments = Moments.decode(reader.bytes());
      const digest = reader.bytes();
      if (this.numeric) {
        this.numeric.moments.merge(moments);
        this.numeric.digest.mergeEncoded(digest);
      } else {
        this.numeric = { moments, digest: TDigest.decode(digest) };
      }
    }
    if (flags & 2) {
      const categories = CategoryCounts.decode(reader.bytes());
      if (this.categories) this.categories.merge(categories);
      else this.categories = categories;
    }
  }

  static decodeFrom(reader: ByteReader): ValueSummary {
    const summary = new ValueSummary();
    summary.logged = reader.varint();
    summary.nulls = reader.varint();
    summary.defaults = reader.varint();
    const flags = reader.u8();
    if (flags & 1) summary.numeric = { moments: Moments.decode(reader.bytes()), digest: TDigest.decode(reader.bytes()) };
    if (flags & 2) summary.categories = CategoryCounts.decode(reader.bytes());
    return summary;
  }
}

/**
 * One model over some span of event time: the unit that is aggregated per batch, stored per bucket in
 * Redis, and merged into windows for evaluation. Mergeable in any order with the same result within
 * the digests' error.
 */
export class ModelSummary {
  count = 0;
  errors = 0;
  latency = new TDigest();
  prediction = new ValueSummary();
  readonly features = new Map<string, ValueSummary>();
  /** Features refused because the model already has `maxFeatures`; counted, not stored. */
  overflowFeatures = 0;

  feature(name: string): ValueSummary {
    let summary = this.features.get(name);
    if (!summary) {
      summary = new ValueSummary();
      this.features.set(name, summary);
    }
    return summary;
  }

  /** For summaries kept between ticks: settles every digest (see TDigest.settle). */
  settle(): void {
    this.latency.settle();
    this.prediction.numeric?.digest.settle();
    for (const summary of this.features.values()) summary.numeric?.digest.settle();
  }

  merge(other: ModelSummary): void {
    this.count += other.count;
    this.errors += other.errors;
    this.overflowFeatures += other.overflowFeatures;
    this.latency.merge(other.latency);
    this.prediction.merge(other.prediction);
    for (const [name, summary] of other.features) this.feature(name).merge(summary);
  }

  encode(): Buffer {
    const writer = new ByteWriter();
    writer.u8(FORMAT_VERSION);
    writer.varint(this.count);
    writer.varint(this.errors);
    writer.varint(this.overflowFeatures);
    this.latency.encodeInto(writer);
    this.prediction.encodeInto(writer);
    // Sorted names: the same summary always encodes to the same bytes.
    const names = [...this.features.keys()].sort();
    writer.varint(names.length);
    for (const name of names) {
      writer.string(name);
      this.features.get(name)!.encodeInto(writer);
    }
    return writer.finishBuffer();
  }

  static decode(bytes: Buffer): ModelSummary {
    const reader = new ByteReader(bytes, 'model summary');
    const version = reader.u8();
    if (version !== FORMAT_VERSION) reader.fail(`unknown version ${version}`);
    const summary = new ModelSummary();
    summary.count = reader.varint();
    summary.errors = reader.varint();
    summary.overflowFeatures = reader.varint();
    summary.latency = TDigest.decode(reader.bytes());
    summary.prediction = ValueSummary.decodeFrom(reader);
    const features = reader.varint();
    for (let i = 0; i < features; i++) {
      const name = reader.string();
      summary.features.set(name, ValueSummary.decodeFrom(reader));
    }
    reader.end();
    return summary;
  }

  /** Decodes and merges many stored summaries (a bucket's appended deltas, or a window's buckets). */
  static mergeAll(encoded: Iterable<Buffer>): ModelSummary {
    let total: ModelSummary | undefined;
    for (const bytes of encoded) {
      if (total) total.mergeEncoded(bytes);
      else total = ModelSummary.decode(bytes);
    }
    return total ?? new ModelSummary();
  }

  /** `merge(ModelSummary.decode(bytes))` without building the decoded summary. */
  mergeEncoded(bytes: Buffer): void {
    const reader = new ByteReader(bytes, 'model summary');
    const version = reader.u8();
    if (version !== FORMAT_VERSION) reader.fail(`unknown version ${version}`);
    this.count += reader.varint();
    this.errors += reader.varint();
    this.overflowFeatures += reader.varint();
    this.latency.mergeEncoded(reader.bytes());
    this.prediction.mergeFrom(reader);
    const features = reader.varint();
    for (let i = 0; i < features; i++) this.feature(reader.string()).mergeFrom(reader);
    reader.end();
  }

  /**
   * Merges summaries into the first non-empty one (which it may change) instead of an empty one: a
   * window or a compacted bucket is often a single summary, and merging it into nothing would still
   * cost a full t-digest merge per feature.
   */
  static combine(summaries: readonly ModelSummary[]): ModelSummary {
    const nonEmpty = summaries.filter((summary) => summary.count > 0 || summary.features.size > 0);
    const [first, ...rest] = nonEmpty;
    if (!first) return new ModelSummary();
    for (const summary of rest) first.merge(summary);
    return first;
  }
}
