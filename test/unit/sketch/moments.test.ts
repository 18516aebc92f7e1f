import { describe, expect, it } from 'vitest';
import { DriftwatchError } from '../../../src/errors.ts';
import { Moments } from '../../../src/sketch/index.ts';
import { sample } from './distributions.ts';

function exactMoments(data: Float64Array): { mean: number; variance: number } {
  // Shifted two-pass: exact enough at 1e15 where a plain Σx loses the fraction.
  const shift = data[0] as number;
  let sum = 0;
  for (const x of data) sum += x - shift;
  const shiftedMean = sum / data.length;
  let squares = 0;
  for (const x of data) squares += (x - shift - shiftedMean) ** 2;
  return { mean: shift + shiftedMean, variance: squares / data.length };
}

describe('Moments', () => {
  it('mean and variance match a two-pass computation, even at 1e15 ± 1 where Σx² − (Σx)²/n fails', () => {
    for (const data of [sample('normal', 50_000, 1), sample('normal', 50_000, 2, 1e15, 8), sample('pareto', 50_000, 3, -7)]) {
      const moments = new Moments();
      for (const x of data) moments.add(x);
      const exact = exactMoments(data);
      expect(moments.count).toBe(data.length);
      expect(Math.abs(moments.mean() - exact.mean)).toBeLessThan(1e-6 * Math.sqrt(exact.variance));
      expect(Math.abs(moments.variance() - exact.variance) / exact.variance).toBeLessThan(1e-9);
      expect(moments.min).toBe(Math.min(...data));
      expect(moments.max).toBe(Math.max(...data));
    }
  });

  it('merging parts in any order equals the whole', () => {
    const data = sample('lognormal', 30_000, 4, 1e9);
    const whole = new Moments();
    const parts = Array.from({ length: 7 }, () => new Moments());
    data.forEach((x, i) => {
      whole.add(x);
      parts[(i * 31) % 7]?.add(x);
    });
    const merged = new Moments();
    for (const part of [...parts].reverse()) merged.merge(part);
    merged.merge(new Moments());
    expect(merged.count).toBe(whole.count);
    expect(Math.abs(merged.variance() - whole.variance()) / whole.variance()).toBeLessThan(1e-9);
    expect(Math.abs(merged.mean() - whole.mean())).toBeLessThan(1e-6);
  });

  it('counts missing apart from values; empty is NaN, never an exception', () => {
    const moments = new Moments();
    moments.addMissing();
    moments.addMissing(2);
    expect(moments.missing).toBe(3);
    expect(moments.count).toBe(0);
    expect(moments.mean()).toBeNaN();
    expect(moments.missingRate()).toBe(1);
    moments.add(5);
    expect(moments.variance()).toBe(0);
    expect(moments.missingRate()).toBe(0.75);
  });

  it('rejects NaN and ±Infinity', () => {
    const moments = new Moments();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => moments.add(bad)).toThrow(DriftwatchError);
    }
    expect(moments.count).toBe(0);
  });

  it('encodes deterministically, round-trips exactly, rejects garbage', () => {
    const moments = new Moments();
    for (const x of sample('normal', 1000, 5)) moments.add(x);
    moments.addMissing(4);
    const bytes = moments.encode();
    const decoded = Moments.decode(bytes);
    expect(decoded.encode()).toEqual(bytes);
    expect(decoded.variance()).toBe(moments.variance());
    expect(decoded.sum).toBe(moments.sum);
    expect(Moments.decode(new Moments().encode()).count).toBe(0);
    for (const junk of [new Uint8Array(0), bytes.subarray(0, 10), Uint8Array.from([...bytes, 1]), Uint8Array.from([2, ...bytes.subarray(1)])]) {
      expect(() => Moments.decode(junk)).toThrow(DriftwatchError);
    }
  });
});
