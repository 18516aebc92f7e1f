import { describe, expect, it } from 'vitest';
import { DriftwatchError } from '../../../src/errors.ts';
import { createRandom } from '../../../src/random.ts';
import { ByteWriter, TDigest } from '../../../src/sketch/index.ts';
import { DISTRIBUTION_NAMES, ExactRanks, gapped, sample } from './distributions.ts';

const N = 100_000;
const MIDDLE: number[] = [];
for (let i = 0; i <= 196; i++) MIDDLE.push(0.01 + i * 0.005);
const EXTREMES = [0.001, 0.999];

/** Worst rank error of quantile(q) and cdf(exact q-quantile) over a set of q. */
function worstError(digest: TDigest, exact: ExactRanks, qs: readonly number[]): number {
  let worst = 0;
  for (const q of qs) {
    worst = Math.max(worst, exact.quantileRankError(q, digest.quantile(q)));
    const x = exact.quantile(q);
    worst = Math.max(worst, exact.cdfError(x, digest.cdf(x)));
  }
  return worst;
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const r = createRandom(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** The ways a digest of `data` gets built: directly, and from 20 partial digests merged. */
function variants(data: Float64Array): Array<[string, TDigest]> {
  const single = new TDigest();
  single.addAll(data);
  // Interleaved parts (like partitions) and contiguous sorted chunks (disjoint ranges: the hard case).
  const interleaved = Array.from({ length: 20 }, () => new TDigest());
  data.forEach((x, i) => interleaved[i % 20]?.add(x));
  const sorted = Float64Array.from(data).sort();
  const chunks = Array.from({ length: 20 }, (_, p) => {
    const digest = new TDigest();
    digest.addAll(sorted.subarray((p * sorted.length) / 20, ((p + 1) * sorted.length) / 20));
    return digest;
  });
  const sequential = (parts: TDigest[], seed: number) => {
    const digest = new TDigest();
    for (const part of shuffled(parts, seed)) digest.merge(part.clone());
    return digest;
  };
  return [
    ['single', single],
    ['mergeAll', TDigest.mergeAll(interleaved)],
    ['merged in random order', sequential(interleaved, 1)],
    ['merged in another order', sequential(interleaved, 2)],
    ['sorted chunks merged', sequential(chunks, 3)],
  ];
}

describe('TDigest accuracy against exact order statistics (compression 100)', () => {
  for (const name of DISTRIBUTION_NAMES) {
    it(`${name}: rank error ≤ 0.002 on [0.01, 0.99], ≤ 0.0005 at 0.001/0.999, single and merged`, () => {
      const data = sample(name, N, 42);
      const exact = new ExactRanks(data);
      for (const [how, digest] of variants(data)) {
        expect(digest.count, how).toBe(N);
        expect(digest.min, how).toBe(exact.sorted[0]);
        expect(digest.max, how).toBe(exact.sorted[N - 1]);
        expect(worstError(digest, exact, MIDDLE), `${name} ${how} middle`).toBeLessThanOrEqual(0.002);
        expect(worstError(digest, exact, EXTREMES), `${name} ${how} extremes`).toBeLessThanOrEqual(0.0005);
      }
    });
  }

  it('modes separated by an empty gap: documented looser bound (0.01) in the middle, tails still 0.0005', () => {
    const data = sample(gapped, N, 42);
    const exact = new ExactRanks(data);
    for (const [how, digest] of variants(data)) {
      expect(worstError(digest, exact, MIDDLE), how).toBeLessThanOrEqual(0.01);
      expect(worstError(digest, exact, EXTREMES), how).toBeLessThanOrEqual(0.0005);
    }
  });

  it('huge magnitudes (1e15 + noise) and negative values keep the same accuracy', () => {
    for (const data of [sample('normal', 20_000, 5, 1e15, 1e3), sample('lognormal', 20_000, 6, -50, -1)]) {
      const exact = new ExactRanks(data);
      const digest = new TDigest();
      digest.addAll(data);
      expect(worstError(digest, exact, MIDDLE)).toBeLessThanOrEqual(0.002);
    }
  });
});

describe('TDigest size', () => {
  it('stays ≤ 2 KiB encoded at the default compression for 1e6 values, merged or not', () => {
    const r = createRandom(9);
    const whole = new TDigest();
    const parts = Array.from({ length: 10 }, () => new TDigest());
    const ties = new TDigest(); // runs of equal values about as heavy as a centroid: the tie rule's worst case
    for (let i = 0; i < 1_000_000; i++) {
      const x = Math.exp(3 * r.normal());
      whole.add(x);
      parts[i % 10]?.add(x);
      ties.add(Math.round(r.normal() * 100) / 100);
    }
    for (const digest of [whole, TDigest.mergeAll(parts), ties]) {
      expect(digest.encode().length).toBeLessThanOrEqual(2048);
    }
  });

  it('encodes a small delta digest as its sorted values: 8 bytes a value plus a 4-byte header', () => {
    const digest = new TDigest();
    for (const x of [3, 1, 2, 5, 4]) digest.add(x);
    expect(digest.encode().length).toBe(4 + 5 * 8);
    expect(new TDigest().encode().length).toBe(4);
  });

  it('encodeInto writes exactly what bytes(encode()) writes, for deltas, ties, compressed and merged digests', () => {
    const cases: TDigest[] = [new TDigest()];
    for (const values of [[3, 1, 2], [2, 2, 1], sample('normal', 160, 1), sample('normal', 161, 2), sample('lognormal', 50_000, 3)]) {
      const digest = new TDigest();
      digest.addAll(values);
      cases.push(digest);
    }
    const weighted = new TDigest();
    weighted.add(5, 3);
    weighted.add(1);
    const merged = new TDigest();
    merged.addAll([9, 8]);
    merged.merge(cases[4]!);
    cases.push(weighted, merged);
    for (const digest of cases) {
      const expected = new ByteWriter().bytes(digest.encode()).finish();
      const into = new ByteWriter();
      digest.encodeInto(into);
      expect(into.finish()).toEqual(expected);
    }
    // A delta of distinct values is its sorted values; decoded, it answers like the digest it came from.
    const delta = new TDigest();
    delta.addAll([0.5, -2, 7, 3]);
    const bytes = delta.encode();
    expect(bytes.length).toBe(4 + 4 * 8);
    expect([0, 0.25, 0.5, 1].map((q) => TDigest.decode(bytes).quantile(q))).toEqual([0, 0.25, 0.5, 1].map((q) => delta.quantile(q)));
    // Ties are collapsed into point masses, not written once per value.
    const ties = new TDigest();
    ties.addAll(Array.from({ length: 100 }, (_, i) => i % 2));
    expect(ties.encode().length).toBeLessThan(40);
  });
});

describe('TDigest behaviour', () => {
  it('rejects NaN and ±Infinity with DW_ERR_VALUE, and bad weights', () => {
    const digest = new TDigest();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() => digest.add(bad)).toThrow(DriftwatchError);
      expect(() => digest.add(bad)).toThrow(/finite/);
    }
    expect(() => digest.add(1, 0)).toThrow(/positive integer/);
    expect(() => digest.add(1, 1.5)).toThrow(/positive integer/);
    expect(() => new TDigest(5)).toThrow(DriftwatchError);
    expect(() => digest.quantile(1.5)).toThrow(DriftwatchError);
    expect(digest.count).toBe(0);
  });

  it('empty: NaN quantiles and cdf, count 0', () => {
    const digest = new TDigest();
    expect(digest.count).toBe(0);
    expect(digest.quantile(0.5)).toBeNaN();
    expect(digest.cdf(0)).toBeNaN();
    expect(digest.min).toBeNaN();
  });

  it('one value and constant columns are point masses: exact quantiles, cdf ½ at the value', () => {
    const one = new TDigest();
    one.add(-7.25);
    const constant = new TDigest();
    for (let i = 0; i < 10_000; i++) constant.add(3);
    for (const [digest, v] of [[one, -7.25], [constant, 3]] as const) {
      for (const q of [0, 0.001, 0.5, 1]) expect(digest.quantile(q)).toBe(v);
      expect(digest.cdf(v)).toBe(0.5);
      expect(digest.cdf(v - 1)).toBe(0);
      expect(digest.cdf(v + 1)).toBe(1);
    }
    expect(constant.centroidCount).toBe(1);
  });

  it('quantile(0) and quantile(1) are the exact min and max', () => {
    const data = sample('cauchy', 10_000, 4);
    const digest = new TDigest();
    digest.addAll(data);
    const exact = new ExactRanks(data);
    expect(digest.quantile(0)).toBe(exact.sorted[0]);
    expect(digest.quantile(1)).toBe(exact.sorted[data.length - 1]);
  });

  it('weighted adds equal repeated adds', () => {
    const weighted = new TDigest();
    const repeated = new TDigest();
    const r = createRandom(3);
    for (let i = 0; i < 2_000; i++) {
      const x = r.normal();
      const w = 1 + Math.floor(r.next() * 5);
      weighted.add(x, w);
      for (let j = 0; j < w; j++) repeated.add(x);
    }
    expect(weighted.count).toBe(repeated.count);
    for (const q of [0.01, 0.25, 0.5, 0.75, 0.99]) expect(Math.abs(weighted.cdf(repeated.quantile(q)) - q)).toBeLessThan(0.002);
  });

  it('clone is independent', () => {
    const digest = new TDigest();
    digest.addAll([1, 2, 3]);
    const copy = digest.clone();
    copy.add(100);
    expect(digest.count).toBe(3);
    expect(copy.count).toBe(4);
    expect(digest.max).toBe(3);
  });
});

  it('digests merged interleaved (sharing recycled merge buffers) equal digests merged one at a time', () => {
    const deltas = (seed: number) =>
      Array.from({ length: 60 }, (_, i) => {
        const delta = new TDigest();
        delta.addAll(sample('normal', 50 + ((i * 37) % 400), seed + i));
        return delta.encode();
      });
    const [a, b] = [deltas(100), deltas(200)];
    const alone = (list: Uint8Array[]) => {
      const digest = new TDigest();
      for (const bytes of list) digest.mergeEncoded(bytes);
      return digest.encode();
    };
    const expectedA = alone(a);
    const expectedB = alone(b);
    const [x, y] = [new TDigest(), new TDigest()];
    for (let i = 0; i < 60; i++) {
      x.mergeEncoded(a[i]!);
      y.mergeEncoded(b[i]!);
      if (i % 7 === 0) expect(x.quantile(0.5)).toBeTypeOf('number'); // a read flushes x mid-way
    }
    expect(y.encode()).toEqual(expectedB);
    expect(x.count).toBe(TDigest.decode(expectedA).count);
    expect(Math.abs(x.quantile(0.5) - TDigest.decode(expectedA).quantile(0.5))).toBeLessThan(0.01);
  });

  it('settle keeps the content and answers, and later merges work as before', () => {
    const values = sample('lognormal', 5_000, 3);
    const settled = TDigest.decode((() => { const d = new TDigest(); d.addAll(values.slice(0, 40)); return d.encode(); })());
    const plain = TDigest.decode(settled.encode());
    settled.settle();
    expect(settled.encode()).toEqual(plain.encode());
    expect(settled.quantile(0.5)).toBe(plain.quantile(0.5));
    const more = new TDigest();
    more.addAll(values.slice(40));
    settled.merge(more);
    plain.merge(more);
    settled.settle();
    expect(settled.encode()).toEqual(plain.encode());
    expect(settled.count).toBe(5_000);
    for (const q of [0, 0.1, 0.5, 0.99, 1]) expect(settled.quantile(q)).toBe(plain.quantile(q));
  });

describe('TDigest encoding', () => {
  const build = () => {
    const digest = new TDigest();
    digest.addAll(sample('lognormal', 50_000, 11));
    return digest;
  };

  it('round-trips exactly and deterministically', () => {
    const a = build();
    const bytes = a.encode();
    expect(build().encode()).toEqual(bytes);
    const decoded = TDigest.decode(bytes);
    expect(decoded.encode()).toEqual(bytes);
    expect(decoded.count).toBe(a.count);
    for (const q of [0, 0.001, 0.3, 0.5, 0.999, 1]) expect(decoded.quantile(q)).toBe(a.quantile(q));
    for (const x of [0.1, 1, 10]) expect(decoded.cdf(x)).toBe(a.cdf(x));
    for (const small of [new TDigest(), (() => { const d = new TDigest(); d.addAll([2, 1, 1]); return d; })()]) {
      expect(TDigest.decode(small.encode()).encode()).toEqual(small.encode());
    }
  });

  it('throws DW_ERR_VALUE on garbage, truncation, trailing bytes and inconsistent content', () => {
    const bytes = build().encode();
    const rejects = (input: Uint8Array) => {
      try {
        TDigest.decode(input);
      } catch (error) {
        expect(error).toBeInstanceOf(DriftwatchError);
        expect((error as DriftwatchError).code).toBe('DW_ERR_VALUE');
        return;
      }
      throw new Error(`decoded ${input.length} bytes of garbage`);
    };
    for (let length = 0; length < bytes.length; length += 7) rejects(bytes.subarray(0, length));
    rejects(Uint8Array.from([...bytes, 0]));
    rejects(Uint8Array.from([9, ...bytes.subarray(1)]));
    const unsorted = Uint8Array.from(bytes);
    new DataView(unsorted.buffer).setFloat64(4 + 16 + 8 * 5, 1e300, true);
    rejects(unsorted);
    const nan = Uint8Array.from(bytes);
    new DataView(nan.buffer).setFloat64(4 + 16, Number.NaN, true);
    rejects(nan);
    const r = createRandom(77);
    for (let i = 0; i < 300; i++) {
      const junk = Uint8Array.from({ length: 1 + Math.floor(r.next() * 64) }, () => Math.floor(r.next() * 256));
      junk[0] = 1; // get past the version byte most of the time
      rejects(junk);
    }
  });
});
