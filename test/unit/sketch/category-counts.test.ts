import { describe, expect, it } from 'vitest';
import { DriftwatchError } from '../../../src/errors.ts';
import { CategoryCounts, OTHER_CATEGORY } from '../../../src/sketch/index.ts';

describe('CategoryCounts', () => {
  it('keeps the first cap categories and sends the rest to __other__', () => {
    const counts = new CategoryCounts(3);
    for (const c of ['a', 'b', 'a', 'c', 'd', 'e', 'a', 'd']) counts.add(c);
    expect(counts.total).toBe(8);
    expect(counts.distinct).toBe(3);
    expect(counts.other).toBe(3);
    expect(counts.entries()).toEqual([['a', 3], ['b', 1], ['c', 1], [OTHER_CATEGORY, 3]]);
    expect(counts.top(2)).toEqual([['a', 3], ['b', 1]]);
    counts.add(OTHER_CATEGORY, 2);
    expect(counts.other).toBe(5);
  });

  it('merges deterministically whatever the order, keeping the largest categories under the cap', () => {
    const a = new CategoryCounts(2);
    const b = new CategoryCounts(2);
    for (const c of ['x', 'x', 'y', 'y', 'y']) a.add(c);
    for (const c of ['z', 'z', 'z', 'z', 'x']) b.add(c);
    const ab = a.clone().merge(b);
    const ba = b.clone().merge(a);
    expect(ab.encode()).toEqual(ba.encode());
    // x and y tie at 3: the name decides (x first), y folds into __other__.
    expect(ab.entries()).toEqual([['x', 3], ['z', 4], [OTHER_CATEGORY, 3]]);
    expect(ab.total).toBe(10);
  });

  it('tracks missing apart from the total', () => {
    const counts = new CategoryCounts();
    counts.addMissing(2);
    counts.add('a');
    expect(counts.total).toBe(1);
    expect(counts.missing).toBe(2);
  });

  it('encodes sorted and deterministically, round-trips, rejects garbage', () => {
    const one = new CategoryCounts(10);
    const two = new CategoryCounts(10);
    for (const c of ['é', 'b', 'a', 'b', 'ünïcode', '']) one.add(c);
    for (const c of ['', 'ünïcode', 'b', 'a', 'b', 'é']) two.add(c);
    one.addMissing();
    two.addMissing();
    expect(one.encode()).toEqual(two.encode());
    const decoded = CategoryCounts.decode(one.encode());
    expect(decoded.entries()).toEqual(one.entries());
    expect(decoded.total).toBe(6);
    expect(decoded.missing).toBe(1);
    const bytes = one.encode();
    for (const junk of [new Uint8Array(0), bytes.subarray(0, bytes.length - 1), Uint8Array.from([...bytes, 0]), Uint8Array.from([1, 0])]) {
      expect(() => CategoryCounts.decode(junk)).toThrow(DriftwatchError);
    }
    expect(() => new CategoryCounts(0)).toThrow(DriftwatchError);
    expect(() => one.add('a', -1)).toThrow(DriftwatchError);
  });
});
