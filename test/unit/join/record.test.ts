import { describe, expect, it } from 'vitest';
import { decodeJoinRecord, encodeJoinRecord, inJoinSample } from '../../../src/join/index.ts';

describe('join records and sampling', () => {
  it('round-trips numeric and class predictions', () => {
    const record = { model: 'eta/eta-v1', sentAt: 1_700_000_000_123, prediction: 'b', scores: { a: 0.25, b: 0.75 } };
    expect(decodeJoinRecord(encodeJoinRecord(record))).toEqual(record);
    const numeric = { model: 'eta/eta-v1', sentAt: 1_700_000_000_123, prediction: 12.5, scores: null };
    expect(decodeJoinRecord(encodeJoinRecord(numeric))).toEqual(numeric);
    expect(encodeJoinRecord(numeric).length).toBeLessThan(32);
  });

  it('samples ids deterministically at the configured rate', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `id-${i}`);
    const kept = ids.filter((id) => inJoinSample(id, 0.25)).length;
    expect(Math.abs(kept / ids.length - 0.25)).toBeLessThan(0.02);
    expect(ids.filter((id) => inJoinSample(id, 0.25)).length).toBe(kept);
    expect(inJoinSample('x', 1)).toBe(true);
    expect(inJoinSample('x', 0)).toBe(false);
  });
});
