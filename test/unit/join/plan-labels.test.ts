import { describe, expect, it } from 'vitest';
import { encodeJoinRecord, itemOfPending, pendingMember, planLabels, type Claim, type LabelItem, type LabelPlanOptions } from '../../../src/join/index.ts';

const MINUTE = 60_000;
const NOW = 1_700_000_000_000;
const OPTIONS: LabelPlanOptions = { sampleRate: 1, ttlMs: 60 * MINUTE, waitMs: 10 * MINUTE, maxClasses: 50, bucketMs: MINUTE };

const item = (id: string, label: number | string, observedAgo: number, source = `labels/0/${id}`): LabelItem => ({
  event: { prediction_id: id, label, observed_at: NOW - observedAgo },
  source,
});
const claimed = (model: string, sentAt: number, prediction: number | string, fresh = true): Claim => ({
  kind: 'claimed',
  record: encodeJoinRecord({ model, sentAt, prediction, scores: null }),
  fresh,
});

describe('planLabels', () => {
  it('decides every outcome from the claims and counts each label once', () => {
    const items = [
      item('a', 'cat', 1000), // joined (claimed now)
      item('b', 'dog', 1000), // joined (claimed by an earlier attempt of the same label)
      item('c', 'cat', 1000), // duplicate: another label claimed its record
      item('d', 'cat', 1000), // not sampled
      item('e', 'cat', 1000), // no record yet: starts waiting
      item('f', 'cat', 2 * 60 * MINUTE), // no record, observed longer than the TTL ago: expired
    ];
    const claims: (Claim | undefined)[] = [
      claimed('eta/v1', NOW - 90_000, 'cat'),
      claimed('eta/v1', NOW - 30_000, 'cat', false),
      { kind: 'duplicate' },
      undefined,
      { kind: 'missing' },
      { kind: 'missing' },
    ];
    const plan = planLabels(items, claims, NOW, OPTIONS);
    expect(Object.fromEntries(plan.outcomes)).toEqual({ joined: 2, duplicate: 1, pending: 1, unknown: 0, expired: 1, not_sampled: 1 });
    expect(plan.pendingAdded).toEqual([{ member: pendingMember(items[4]!), score: NOW }]);
    expect(plan.pendingResolved).toEqual([]);
    const model = plan.models.get('eta/v1')!;
    expect(model.labeled).toBe(2);
    // Performance lands in the prediction-time buckets of the two predictions: one right, one wrong.
    const buckets = [...model.buckets].sort(([a], [b]) => a - b);
    expect(buckets.map(([start]) => start)).toEqual([NOW - 90_000 - ((NOW - 90_000) % MINUTE), NOW - 30_000 - ((NOW - 30_000) % MINUTE)]);
    expect(buckets.map(([, summary]) => summary.metrics().accuracy)).toEqual([1, 0]);
    expect(buckets[0]![1].delay.quantile(0.5)).toBe(89_000);
  });

  it('resolves waiting labels: joined, duplicate, not sampled or unknown after the wait; else they keep waiting', () => {
    const waiting = (id: string, waitedMs: number) => itemOfPending(pendingMember(item(id, 1.5, 1000)), NOW - waitedMs);
    const items = [waiting('a', 1000), waiting('b', 1000), waiting('c', 1000), waiting('d', 11 * MINUTE), waiting('e', 1000)];
    const claims: (Claim | undefined)[] = [claimed('eta/v2', NOW - 5000, 2), { kind: 'duplicate' }, undefined, { kind: 'missing' }, { kind: 'missing' }];
    const plan = planLabels(items, claims, NOW, OPTIONS);
    expect(Object.fromEntries(plan.outcomes)).toEqual({ joined: 1, duplicate: 1, pending: 0, unknown: 1, expired: 0, not_sampled: 1 });
    expect(plan.pendingResolved).toEqual([0, 1, 2, 3].map((i) => items[i]!.pending!.member));
    expect(plan.pendingAdded).toEqual([]);
    // Regression: the error of 2 against 1.5.
    expect(plan.models.get('eta/v2')!.buckets.values().next().value!.metrics().mae).toBe(0.5);
  });

  it('keeps a waiting label\'s source, so that its claim is recognised as its own after a crash', () => {
    const original = item('z', 'cat', 1000, 'labels/3/42');
    const again = itemOfPending(pendingMember(original), NOW);
    expect(again.source).toBe('labels/3/42');
    expect(again.event).toEqual(original.event);
  });
});
