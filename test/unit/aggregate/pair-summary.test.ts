import { describe, expect, it } from 'vitest';
import { PAIR_SAMPLE_SIZE, PairStats, PairSummary } from '../../../src/aggregate/index.ts';
import { predictionIdHash } from '../../../src/join/index.ts';
import { createRandom } from '../../../src/random.ts';
import { exactSpearman as spearman } from '../../kit/exact-performance.ts';


describe('PairSummary', () => {
  it('counts agreement of classes and differences of numbers exactly, in any merge order, through encode/decode', () => {
    const random = createRandom(1);
    const parts = [new PairSummary(), new PairSummary(), new PairSummary()];
    const x: number[] = [];
    const y: number[] = [];
    let agree = 0;
    let sumAbs = 0;
    for (let i = 0; i < 3000; i++) {
      const part = parts[i % 3]!;
      const primary = random.next() < 0.5 ? 'a' : 'b';
      const shadow = random.next() < 0.1 ? (primary === 'a' ? 'b' : 'a') : primary;
      if (shadow === primary) agree++;
      part.add('eta/v1', predictionIdHash(`c${i}`), shadow, primary);
      const base = random.normal();
      const value = base + 0.3 * random.normal();
      x.push(value);
      y.push(base);
      sumAbs += Math.abs(value - base);
      part.add('eta/v1', predictionIdHash(`n${i}`), value, base);
    }
    const merged = PairSummary.mergeAll([parts[2]!.encode(), parts[0]!.encode(), parts[1]!.encode()]);
    const stats = merged.byBaseline.get('eta/v1')!;
    expect(stats.classPairs).toBe(3000);
    expect(stats.agree).toBe(agree);
    expect(stats.numeric).toBe(3000);
    expect(stats.sumAbs).toBeCloseTo(sumAbs, 9);
    // Under K pairs the sample is every pair: exact.
    expect(stats.rankCorrelation()).toBeCloseTo(spearman(x, y), 12);
    const again = PairSummary.mergeAll([parts[0]!.encode(), parts[1]!.encode(), parts[2]!.encode()]);
    expect(again.encode().equals(merged.encode())).toBe(true);
  });

  it('keeps a bottom-k sample beyond K pairs: the same whatever the merge order, and ρ within the sampling error', () => {
    const random = createRandom(2);
    const total = new PairStats();
    const halves = [new PairStats(), new PairStats()];
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 3 * PAIR_SAMPLE_SIZE; i++) {
      const base = random.normal();
      const value = base + 1.2 * random.normal();
      x.push(value);
      y.push(base);
      const hash = predictionIdHash(`r${i}`);
      total.add(hash, value, base);
      halves[i % 2]!.add(hash, value, base);
    }
    const merged = new PairStats().merge(halves[1]!).merge(halves[0]!);
    expect(merged.hashes).toEqual(total.hashes);
    expect(merged.hashes).toHaveLength(PAIR_SAMPLE_SIZE);
    const exact = spearman(x, y);
    console.log(`rank correlation: exact ${exact.toFixed(4)}, bottom-${PAIR_SAMPLE_SIZE} sample ${merged.rankCorrelation()!.toFixed(4)}`);
    expect(Math.abs(merged.rankCorrelation()! - exact)).toBeLessThan(0.03);
  });
});
