import { describe, expect, it } from 'vitest';
import { bucketStarts, planWindow } from '../../../src/evaluate/windows.ts';

const M = 60_000;
const H = 60 * M;

describe('planWindow', () => {
  it('splits the reference into whole coarse buckets then fine buckets, never overlapping the current window', () => {
    const now = 10 * H + 25 * M + 30_000; // 10:25:30
    const plan = planWindow(now, M, 24 * H, M, H);
    expect(plan.current).toEqual({ from: 10 * H + 24 * M, to: now + 1 });
    expect(plan.reference.fine).toEqual({ from: 10 * H, to: 10 * H + 24 * M });
    expect(plan.reference.coarse).toEqual({ from: -14 * H, to: 10 * H });
    expect(bucketStarts(plan.current, M)).toEqual([10 * H + 24 * M, 10 * H + 25 * M]);
    expect(bucketStarts(plan.reference.fine, M)).toHaveLength(24);
    expect(bucketStarts(plan.reference.coarse, H)).toHaveLength(24);
  });

  it('uses fine buckets only when the reference is shorter than the way back to the coarse boundary', () => {
    const now = 10 * H + 40 * M;
    const plan = planWindow(now, 5 * M, 15 * M, M, H);
    expect(plan.reference.fine).toEqual({ from: 10 * H + 20 * M, to: 10 * H + 35 * M });
    expect(bucketStarts(plan.reference.coarse, H)).toEqual([]);
  });
});
