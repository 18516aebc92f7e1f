import { describe, expect, it } from 'vitest';
import { JOIN_SHARDS, JoinSlots, joinShard } from '../../../src/join/index.ts';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

describe('JoinSlots', () => {
  it('slots an eighth of the TTL, whole minutes, at least one', () => {
    expect(new JoinSlots(7 * DAY).slotMs).toBe(21 * 60 * MINUTE);
    expect(new JoinSlots(60 * MINUTE).slotMs).toBe(8 * MINUTE);
    expect(new JoinSlots(10_000).slotMs).toBe(MINUTE);
  });

  it('keeps every record at least the TTL and lists the live slots newest first', () => {
    const slots = new JoinSlots(60 * MINUTE);
    const now = 1_700_000_123_456;
    const live = slots.liveSlots(now, 5 * MINUTE);
    expect(live[0]).toBe(slots.slotOf(now + 5 * MINUTE));
    expect(live).toEqual([...live].sort((a, b) => b - a));
    // A record written at t expires no sooner than t + TTL, and its slot is live until then.
    for (const sentAt of [now - 60 * MINUTE + 1, now - 30 * MINUTE, now, now + 5 * MINUTE]) {
      expect(slots.expiresAt(slots.slotOf(sentAt))).toBeGreaterThanOrEqual(sentAt + 60 * MINUTE);
      expect(live).toContain(slots.slotOf(sentAt));
    }
    // The oldest live slot still holds unexpired records; the one before it has expired.
    expect(slots.expiresAt(live.at(-1)!)).toBeGreaterThan(now);
    expect(slots.expiresAt(live.at(-1)! - slots.slotMs)).toBeLessThanOrEqual(now);
    expect(live.length).toBeLessThanOrEqual(10);
    expect(slots.slotOf(-1)).toBe(-slots.slotMs);
  });

  it('spreads ids over the shards evenly', () => {
    const counts = new Array<number>(JOIN_SHARDS).fill(0);
    for (let i = 0; i < 1000 * JOIN_SHARDS; i++) counts[joinShard(`prediction-${i}`)]!++;
    for (const count of counts) expect(Math.abs(count - 1000)).toBeLessThan(120);
  });
});
