import { describe, expect, it } from 'vitest';
import { createRandom, type Random } from '../../../src/random.ts';
import {
  meanContrast,
  mixtureRadius,
  mixtureTau2,
  proportionContrast,
  proportionInterval,
  samplesFactorToRadius,
  type MeanStats,
  type ProportionStats,
} from '../../../src/stats/confidence-sequence.ts';

const ALPHA = 0.05;
const MARGIN = 0.02;

const bernoulli = (random: Random, n: number, p: number): number => {
  let successes = 0;
  for (let i = 0; i < n; i++) if (random.next() < p) successes++;
  return successes;
};

/**
 * A canary (10 samples a look) and its baseline (90 a look), both succeeding with their own p, looked
 * at `looks` times; returns the first look at which `stop` says so, or undefined.
 */
function peek(random: Random, pCandidate: number, pBaseline: number, looks: number, stop: (a: ProportionStats, b: ProportionStats) => boolean): number | undefined {
  const a = { n: 0, successes: 0 };
  const b = { n: 0, successes: 0 };
  for (let look = 1; look <= looks; look++) {
    a.n += 10;
    a.successes += bernoulli(random, 10, pCandidate);
    b.n += 90;
    b.successes += bernoulli(random, 90, pBaseline);
    if (stop(a, b)) return look;
  }
  return undefined;
}

describe('normal-mixture confidence sequence', () => {
  const tau2 = mixtureTau2(MARGIN, ALPHA);

  it('is tuned so that its radius reaches the margin where it is tightest', () => {
    // At the variance where the radius equals the margin, no other τ² gives a smaller radius.
    const factor = samplesFactorToRadius(1, MARGIN, tau2, ALPHA);
    const target = 1 / factor;
    expect(mixtureRadius(target, tau2, ALPHA)).toBeCloseTo(MARGIN, 6);
    for (const scale of [0.25, 0.5, 2, 4]) expect(mixtureRadius(target, tau2 * scale, ALPHA)).toBeGreaterThan(MARGIN);
    // And it shrinks as samples come: a quarter of the variance, a bit more than half the radius.
    expect(mixtureRadius(target / 4, tau2, ALPHA) / MARGIN).toBeGreaterThan(0.5);
    expect(mixtureRadius(target / 4, tau2, ALPHA) / MARGIN).toBeLessThan(0.6);
  });

  it('keeps its error rate under α when looked at after every batch (type I under peeking, by simulation)', () => {
    // 360 looks of an equal canary (p = 0.9 both): does the interval ever exclude the true difference 0?
    const runs = 2000;
    const random = createRandom(20261122);
    let excluded = 0;
    let naiveExcluded = 0;
    for (let run = 0; run < runs; run++) {
      const stop = peek(random, 0.9, 0.9, 360, (a, b) => {
        const cs = proportionContrast(a, b, 1, tau2, ALPHA);
        return cs.lower > 0 || cs.upper < 0;
      });
      if (stop !== undefined) excluded++;
    }
    // The same looks with a fixed-sample 95 % z-interval: peeking inflates its error many times over.
    const naiveRandom = createRandom(20261122);
    for (let run = 0; run < runs; run++) {
      const stop = peek(naiveRandom, 0.9, 0.9, 360, (a, b) => {
        const pa = a.successes / a.n;
        const pb = b.successes / b.n;
        const se = Math.sqrt((pa * (1 - pa)) / a.n + (pb * (1 - pb)) / b.n);
        return se > 0 && Math.abs(pa - pb) > 1.96 * se;
      });
      if (stop !== undefined) naiveExcluded++;
    }
    console.log(`type I under 360 looks, ${runs} runs: mixture CS ${excluded / runs}, naive z-interval ${naiveExcluded / runs}`);
    expect(excluded / runs).toBeLessThanOrEqual(ALPHA);
    expect(naiveExcluded / runs).toBeGreaterThan(3 * ALPHA);
  });

  it('detects a canary worse by 15 points within 1,500 canary samples (power)', () => {
    const runs = 500;
    const random = createRandom(7);
    const stops: number[] = [];
    for (let run = 0; run < runs; run++) {
      // Rollback: the whole interval of (candidate − baseline) accuracy lies below −margin.
      const stop = peek(random, 0.75, 0.9, 150, (a, b) => proportionContrast(a, b, 1, tau2, ALPHA).upper < -MARGIN);
      if (stop !== undefined) stops.push(stop * 10);
    }
    stops.sort((x, y) => x - y);
    console.log(`rollback of a 0.75 canary vs 0.90: ${stops.length}/${runs} within 1,500 samples; median ${stops[Math.floor(stops.length / 2)]}, max ${stops.at(-1)} canary samples`);
    expect(stops.length).toBe(runs);
    expect(stops[Math.floor(stops.length / 2)]!).toBeLessThan(600);
  });

  it('covers a difference of means under peeking (normal data, unequal sizes)', () => {
    const runs = 500;
    const random = createRandom(99);
    const tau = mixtureTau2(0.05, ALPHA);
    let excluded = 0;
    for (let run = 0; run < runs; run++) {
      const a: MeanStats = { n: 0, sum: 0, sumSquares: 0 };
      const b: MeanStats = { n: 0, sum: 0, sumSquares: 0 };
      for (let look = 0; look < 200; look++) {
        for (let i = 0; i < 5; i++) {
          const x = 1 + random.normal() * 0.5;
          a.n++;
          a.sum += x;
          a.sumSquares += x * x;
        }
        for (let i = 0; i < 45; i++) {
          const x = 1 + random.normal() * 0.5;
          b.n++;
          b.sum += x;
          b.sumSquares += x * x;
        }
        const cs = meanContrast(a, b, 1, tau, ALPHA);
        if (cs.lower > 0 || cs.upper < 0) {
          excluded++;
          break;
        }
      }
    }
    expect(excluded / runs).toBeLessThanOrEqual(ALPHA);
  });

  it('never claims certainty from a handful of identical samples', () => {
    const cs = proportionInterval({ n: 20, successes: 20 }, tau2, ALPHA);
    expect(cs.estimate).toBe(1);
    expect(cs.lower).toBeLessThan(0.9);
    const contrast = proportionContrast({ n: 20, successes: 20 }, { n: 200, successes: 200 }, 1, tau2, ALPHA);
    expect(contrast.lower).toBeLessThan(-0.1);
    expect(proportionContrast({ n: 0, successes: 0 }, { n: 10, successes: 5 }, 1, tau2, ALPHA).lower).toBe(Number.NEGATIVE_INFINITY);
  });

  it('says how many more samples a radius needs', () => {
    const variance = 0.2 / 300;
    const factor = samplesFactorToRadius(variance, 0.05, tau2, ALPHA);
    expect(factor).toBeGreaterThan(1);
    expect(mixtureRadius(variance / factor, tau2, ALPHA)).toBeCloseTo(0.05, 6);
    expect(samplesFactorToRadius(variance, 1, tau2, ALPHA)).toBe(1);
    expect(samplesFactorToRadius(variance, 0, tau2, ALPHA)).toBe(Number.POSITIVE_INFINITY);
  });
});
