import { DriftwatchError } from '../errors.ts';
import { ByteReader, ByteWriter } from './bytes.ts';

const VERSION = 1;
const MAX_CAP = 100_000;
export const OTHER_CATEGORY = '__other__';
export const DEFAULT_CATEGORY_CAP = 100;

/**
 * Counts per category, at most `cap` named categories; the rest go to the `__other__` bucket so memory
 * and label cardinality stay bounded whatever the data. A category literally named `__other__` shares
 * the overflow bucket.
 *
 * add keeps the first `cap` categories seen (no eviction: a stream cannot revisit the past). merge is
 * order-independent: all counts are combined and, over the cap, the `cap` largest (ties by name) stay
 * named and the rest fold into `__other__`, so merge(a, b) and merge(b, a) give the same bytes.
 */
export class CategoryCounts {
  readonly cap: number;
  private counts = new Map<string, number>();
  private overflow = 0;
  private totalCount = 0;
  missing = 0;

  constructor(cap = DEFAULT_CATEGORY_CAP) {
    if (!Number.isInteger(cap) || cap < 1 || cap > MAX_CAP) {
      throw new DriftwatchError('DW_ERR_VALUE', `category cap must be an integer in [1, ${MAX_CAP}], got ${cap}`);
    }
    this.cap = cap;
  }

  add(category: string, weight = 1): void {
    if (weight !== 1 && (!Number.isSafeInteger(weight) || weight < 1)) {
      throw new DriftwatchError('DW_ERR_VALUE', `category weight must be a positive integer, got ${weight}`);
    }
    this.totalCount += weight;
    const current = this.counts.get(category);
    if (current !== undefined) this.counts.set(category, current + weight);
    else if (category !== OTHER_CATEGORY && this.counts.size < this.cap) this.counts.set(category, weight);
    else this.overflow += weight;
  }

  /** Counts a missing (null/absent) value; missing values are not part of total or the shares. */
  addMissing(weight = 1): void {
    this.missing += weight;
  }

  merge(other: CategoryCounts): this {
    for (const [category, count] of other.counts) this.counts.set(category, (this.counts.get(category) ?? 0) + count);
    this.overflow += other.overflow;
    this.totalCount += other.totalCount;
    this.missing += other.missing;
    this.enforceCap();
    return this;
  }

  clone(): CategoryCounts {
    const copy = new CategoryCounts(this.cap);
    copy.counts = new Map(this.counts);
    copy.overflow = this.overflow;
    copy.totalCount = this.totalCount;
    copy.missing = this.missing;
    return copy;
  }

  /** Non-missing values counted, overflow included. */
  get total(): number {
    return this.totalCount;
  }

  /** Values in the `__other__` bucket. */
  get other(): number {
    return this.overflow;
  }

  /** Named categories held (at most cap). */
  get distinct(): number {
    return this.counts.size;
  }

  get(category: string): number {
    return category === OTHER_CATEGORY ? this.overflow : (this.counts.get(category) ?? 0);
  }

  /** Named categories sorted by name, then `__other__` when it holds anything. */
  entries(): Array<[string, number]> {
    const sorted = [...this.counts.entries()].sort(byName);
    if (this.overflow > 0) sorted.push([OTHER_CATEGORY, this.overflow]);
    return sorted;
  }

  /** Every named category's count, in no particular order, then `__other__` when it holds anything (no sort, no copy). */
  forEachCount(visit: (category: string, count: number) => void): void {
    for (const [category, count] of this.counts) visit(category, count);
    if (this.overflow > 0) visit(OTHER_CATEGORY, this.overflow);
  }

  /** The n largest named categories, count descending then name (`__other__` is never listed). */
  top(n: number): Array<[string, number]> {
    return [...this.counts.entries()].sort((a, b) => b[1] - a[1] || byName(a, b)).slice(0, Math.max(0, n));
  }

  /** version, cap, missing, other, n, then n × (UTF-8 name length, name, count), names sorted. */
  encode(): Uint8Array {
    const out = new ByteWriter();
    const encoder = new TextEncoder();
    out.u8(VERSION);
    out.varint(this.cap);
    out.varint(this.missing);
    out.varint(this.overflow);
    out.varint(this.counts.size);
    for (const [category, count] of [...this.counts.entries()].sort(byName)) {
      const name = encoder.encode(category);
      out.varint(name.length);
      out.raw(name);
      out.varint(count);
    }
    return out.finish();
  }

  static decode(bytes: Uint8Array): CategoryCounts {
    const input = new ByteReader(bytes, 'category counts');
    const version = input.u8();
    if (version !== VERSION) input.fail(`unknown version ${version}`);
    const cap = input.varint();
    if (cap < 1 || cap > MAX_CAP) input.fail(`cap ${cap}`);
    const result = new CategoryCounts(cap);
    result.missing = input.varint();
    result.overflow = input.varint();
    const size = input.varint();
    if (size > cap) input.fail(`${size} categories over the cap ${cap}`);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let total = result.overflow;
    let previous: string | undefined;
    for (let i = 0; i < size; i++) {
      const length = input.varint();
      let name: string;
      try {
        name = decoder.decode(input.raw(length));
      } catch {
        return input.fail('category name is not UTF-8');
      }
      if (previous !== undefined && !(previous < name)) input.fail('categories not sorted');
      if (name === OTHER_CATEGORY) input.fail(`${OTHER_CATEGORY} stored as a named category`);
      const count = input.varint();
      if (count < 1) input.fail('zero count');
      result.counts.set(name, count);
      total += count;
      previous = name;
    }
    input.end();
    if (!Number.isSafeInteger(total)) input.fail('total out of range');
    result.totalCount = total;
    return result;
  }

  private enforceCap(): void {
    if (this.counts.size <= this.cap) return;
    const ranked = [...this.counts.entries()].sort((a, b) => b[1] - a[1] || byName(a, b));
    for (const [category, count] of ranked.slice(this.cap)) {
      this.counts.delete(category);
      this.overflow += count;
    }
  }
}

/** Code-unit order: deterministic and locale-free. */
function byName(a: [string, number], b: [string, number]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
