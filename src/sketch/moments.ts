import { DriftwatchError } from '../errors.ts';
import { ByteReader, ByteWriter } from './bytes.ts';

const VERSION = 1;

/**
 * Count, missing, sum, min, max and the sum of squared deviations M2, for mean and variance.
 * Numerics: values are shifted by the first one seen (K) and the shifted sum S = Σ(x − K) and M2 are
 * updated with Welford's method per value and Chan, Golub & LeVeque's pairwise formula on merge
 * (M2 = M2a + M2b + δ²·na·nb/n, δ = mean_b − mean_a; "Algorithms for computing the sample variance",
 * 1983). Unlike Σx² − (Σx)²/n this does not cancel when the mean dwarfs the spread (1e15 ± 1), and
 * unlike a plain running mean it does not stall once δ/n drops below an ulp of a large mean.
 * The raw sum is kept for totals; Σx² is derived (M2 + sum²/n) for callers that want it.
 */
export class Moments {
  count = 0;
  missing = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;
  private shift = 0;
  private shiftedSum = 0;
  private m2 = 0;

  /** Adds `weight` (a positive integer) occurrences of x; NaN and ±Infinity are rejected. */
  add(x: number, weight = 1): void {
    if (!Number.isFinite(x)) {
      throw new DriftwatchError('DW_ERR_VALUE', `moments cannot take ${String(x)}: values must be finite numbers`);
    }
    if (weight !== 1) checkWeight(weight);
    if (this.count === 0) this.shift = x;
    const y = x - this.shift;
    const count = this.count + weight;
    const delta = this.count === 0 ? 0 : y - this.shiftedSum / this.count;
    this.shiftedSum += y * weight;
    this.m2 += delta * (y - this.shiftedSum / count) * weight;
    this.count = count;
    this.sum += x * weight;
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  /** Counts a missing (null/absent) value. */
  addMissing(weight = 1): void {
    if (weight !== 1) checkWeight(weight);
    this.missing += weight;
  }

  merge(other: Moments): this {
    this.missing += other.missing;
    if (other.count === 0) return this;
    if (this.count === 0) {
      this.count = other.count;
      this.sum = other.sum;
      this.min = other.min;
      this.max = other.max;
      this.shift = other.shift;
      this.shiftedSum = other.shiftedSum;
      this.m2 = other.m2;
      return this;
    }
    const count = this.count + other.count;
    const shiftGap = other.shift - this.shift;
    const delta = shiftGap + other.shiftedSum / other.count - this.shiftedSum / this.count;
    this.m2 += other.m2 + ((delta * delta * this.count) / count) * other.count;
    this.shiftedSum += other.shiftedSum + shiftGap * other.count;
    this.count = count;
    this.sum += other.sum;
    if (other.min < this.min) this.min = other.min;
    if (other.max > this.max) this.max = other.max;
    return this;
  }

  clone(): Moments {
    return new Moments().merge(this);
  }

  /** Arithmetic mean; NaN when empty. */
  mean(): number {
    return this.count === 0 ? Number.NaN : this.shift + this.shiftedSum / this.count;
  }

  /** Population variance (divides by n, as the drift statistics need); NaN when empty. */
  variance(): number {
    return this.count === 0 ? Number.NaN : Math.max(0, this.m2 / this.count);
  }

  /** Sample variance (divides by n − 1); NaN below two values. */
  sampleVariance(): number {
    return this.count < 2 ? Number.NaN : Math.max(0, this.m2 / (this.count - 1));
  }

  /** Population standard deviation; NaN when empty. */
  std(): number {
    return Math.sqrt(this.variance());
  }

  /** Σx², derived from M2 (may lose digits when the mean dwarfs the spread; prefer variance()). */
  sumOfSquares(): number {
    return this.count === 0 ? 0 : this.m2 + (this.sum * this.sum) / this.count;
  }

  /** missing / (count + missing); 0 when nothing was seen. */
  missingRate(): number {
    const seen = this.count + this.missing;
    return seen === 0 ? 0 : this.missing / seen;
  }

  /** version, count, missing (varints), then sum, shift, shifted sum, M2, min, max as float64 when count > 0. */
  encode(): Uint8Array {
    const out = new ByteWriter();
    out.u8(VERSION);
    out.varint(this.count);
    out.varint(this.missing);
    if (this.count > 0) {
      out.f64(this.sum);
      out.f64(this.shift);
      out.f64(this.shiftedSum);
      out.f64(this.m2);
      out.f64(this.min);
      out.f64(this.max);
    }
    return out.finish();
  }

  static decode(bytes: Uint8Array): Moments {
    const input = new ByteReader(bytes, 'moments');
    const version = input.u8();
    if (version !== VERSION) input.fail(`unknown version ${version}`);
    const moments = new Moments();
    moments.count = input.varint();
    moments.missing = input.varint();
    if (moments.count > 0) {
      moments.sum = input.f64();
      moments.shift = input.f64();
      moments.shiftedSum = input.f64();
      moments.m2 = input.f64();
      moments.min = input.f64();
      moments.max = input.f64();
      const fields = [moments.sum, moments.shift, moments.shiftedSum, moments.m2, moments.min, moments.max];
      if (!fields.every(Number.isFinite)) input.fail('non-finite field');
      if (moments.m2 < 0 || moments.min > moments.max) input.fail('inconsistent fields');
      if (moments.shift < moments.min || moments.shift > moments.max) input.fail('shift outside [min, max]');
    }
    input.end();
    return moments;
  }
}

function checkWeight(weight: number): void {
  if (!Number.isSafeInteger(weight) || weight < 1) {
    throw new DriftwatchError('DW_ERR_VALUE', `weight must be a positive integer, got ${weight}`);
  }
}
