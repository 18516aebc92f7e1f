import { encodePairs } from './pairs.ts';
import { joinShard } from './sample.ts';
import type { JoinSlots } from './slots.ts';

/** A prediction's join record, kept for its label (the first record of an id wins). */
export interface JoinEntry {
  predictionId: string;
  sentAt: number;
  record: Buffer;
}

/**
 * The join records of one hash (a sent_at slot of one id shard), packed as one MessagePack argument
 * ([id, record, …]) that the write script unpacks in one C call, and when the hash expires.
 */
export interface JoinGroup {
  slot: number;
  shard: number;
  expiresAt: number;
  pairs: Buffer;
}

/**
 * A batch's join records grouped by shard, then slot, and packed: a few buffers however many records,
 * cheap to hand from a planning thread to the writer and written as one op per hash.
 */
export function packJoinRecords(joins: readonly JoinEntry[], slots: JoinSlots): JoinGroup[] {
  // Grouped by numbers (slots are whole minutes, shards < 64): no key string per record.
  const shards = new Map<number, Map<number, { ids: string[]; records: Buffer[] }>>();
  for (const { predictionId, sentAt, record } of joins) {
    const shard = joinShard(predictionId);
    const slot = slots.slotOf(sentAt);
    let bySlot = shards.get(shard);
    if (!bySlot) shards.set(shard, (bySlot = new Map()));
    let group = bySlot.get(slot);
    if (!group) bySlot.set(slot, (group = { ids: [], records: [] }));
    group.ids.push(predictionId);
    group.records.push(record);
  }
  const groups: JoinGroup[] = [];
  for (const [shard, bySlot] of shards) {
    for (const [slot, { ids, records }] of bySlot) groups.push({ slot, shard, expiresAt: slots.expiresAt(slot), pairs: encodePairs(ids, records) });
  }
  return groups;
}
