/** Join hashes per time slot: a record lives at least `label_join_ttl`, at most 1/8 longer. */
const SLOTS_PER_TTL = 8;
const MINUTE = 60_000;

/**
 * Where a prediction's join record lives: a Redis HASH per time slot of the prediction's `sent_at` and
 * per shard of its id, expiring as a whole once the slot's last record is `label_join_ttl` old. One key
 * per record would cost ~200 B of Redis memory each and a key plus a TTL per SET; fields of a few big
 * hashes cost ~130 B and one HSETNX. A label finds its record by probing the slots that can still
 * exist (at most 10) in its id's shard. Pure: time is passed in.
 */
export class JoinSlots {
  readonly slotMs: number;

  constructor(readonly ttlMs: number) {
    this.slotMs = Math.max(MINUTE, Math.ceil(ttlMs / SLOTS_PER_TTL / MINUTE) * MINUTE);
  }

  slotOf(time: number): number {
    return time - (((time % this.slotMs) + this.slotMs) % this.slotMs);
  }

  /** When a slot's hashes expire: its last possible record is then `ttl` old. */
  expiresAt(slot: number): number {
    return slot + this.slotMs + this.ttlMs;
  }

  /**
   * The slots whose hashes may hold records at `now`, newest first: from that of the latest accepted
   * `sent_at` (`maxFutureMs` ahead) down to the oldest not yet expired.
   */
  liveSlots(now: number, maxFutureMs: number): number[] {
    const slots: number[] = [];
    for (let slot = this.slotOf(now + maxFutureMs); this.expiresAt(slot) > now; slot -= this.slotMs) slots.push(slot);
    return slots;
  }
}
