/**
 * Which stored buckets make up a current window and its rolling reference, at a given `now`.
 *
 * The current window is the fine buckets overlapping [now − duration, now): up to one bucket more than
 * the duration, never less. The reference is the `duration` before it, and never overlaps it: whole
 * coarse buckets up to the coarse boundary before the current window (cheap to read for days), then
 * fine buckets from that boundary up to the current window. As time passes, the fine part grows by one
 * bucket at a time and moves into coarse at each coarse boundary, so a cache can merge it add-only.
 */
export interface Span {
  /** Inclusive bucket start. */
  from: number;
  /** Exclusive: buckets start before this. */
  to: number;
}

export interface WindowPlan {
  current: Span;
  reference: { coarse: Span; fine: Span };
}

const floorTo = (time: number, size: number): number => time - (((time % size) + size) % size);

export function planWindow(now: number, durationMs: number, referenceMs: number, fineMs: number, coarseMs: number): WindowPlan {
  const currentFrom = floorTo(now - durationMs, fineMs);
  const cut = floorTo(currentFrom, coarseMs);
  const referenceFrom = currentFrom - referenceMs;
  return {
    current: { from: currentFrom, to: now + 1 },
    reference: {
      coarse: { from: Math.min(cut, floorTo(referenceFrom, coarseMs)), to: cut },
      fine: { from: Math.max(cut, floorTo(referenceFrom, fineMs)), to: currentFrom },
    },
  };
}

/** Bucket starts of a span at one bucket size. */
export function bucketStarts(span: Span, size: number): number[] {
  const starts: number[] = [];
  for (let start = floorTo(span.from, size); start < span.to; start += size) starts.push(start);
  return starts;
}
