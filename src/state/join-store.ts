import { joinShard, JoinSlots, sourceHash } from '../join/index.ts';
import type { RedisClient } from './connection.ts';
import type { KeyLayout } from './keys.ts';
import { encodePairs } from './msgpack-pairs.ts';
import type { UnitBatch } from './units.ts';

/** A prediction's join record, kept for its label. */
export interface JoinWrite {
  predictionId: string;
  sentAt: number;
  record: Buffer;
}

/** What a label's claim on its prediction's record found (claim-joins.lua). */
export type ClaimFound = { found: 'none' } | { found: 'claimed' | 'mine'; record: Buffer } | { found: 'other' };

export interface JoinStoreOptions {
  /** state.label_join_ttl */
  ttlMs: number;
  /** Records with sent_at up to this far ahead are accepted (windows.max_future). */
  maxFutureMs: number;
}

/**
 * The label join's Redis side: join records written (as units of a prediction write), claimed by
 * labels, and the labels waiting for their prediction. Records live in hashes per sent_at slot and id
 * shard (join/slots.ts); each shard is its own hash tag.
 */
export class JoinStore {
  readonly slots: JoinSlots;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly cluster: boolean,
    private readonly options: JoinStoreOptions,
  ) {
    this.slots = new JoinSlots(options.ttlMs);
  }

  /** One unit per shard, an 'H' op per slot hash with the records packed in one argument. */
  addWriteUnits(batch: UnitBatch, joins: readonly JoinWrite[], phase: number): void {
    if (joins.length === 0) return;
    // Grouped by shard, then slot (by numbers: no key string per record); a unit's ops go out together.
    const shards = new Map<number, Map<number, { ids: string[]; records: Buffer[] }>>();
    for (const { predictionId, sentAt, record } of joins) {
      const shard = joinShard(predictionId);
      const slot = this.slots.slotOf(sentAt);
      let slots = shards.get(shard);
      if (!slots) shards.set(shard, (slots = new Map()));
      let group = slots.get(slot);
      if (!group) slots.set(slot, (group = { ids: [], records: [] }));
      group.ids.push(predictionId);
      group.records.push(record);
    }
    for (const [shard, slots] of shards) {
      const { ops } = batch.unit(this.keys.joinShardTag(shard), { kind: 'none' }, phase);
      for (const [slot, { ids, records }] of slots) ops.joinRecords(this.keys.joinSlot(slot, shard), encodePairs(ids, records), this.slots.expiresAt(slot));
    }
  }

  /**
   * Claims the records of these labels' predictions, in order (a second label of the same id in the
   * list finds the first one's claim). `source` names the label (topic/partition/offset).
   */
  async claim(labels: readonly { predictionId: string; source: string }[], now: number): Promise<ClaimFound[]> {
    const found: ClaimFound[] = labels.map(() => ({ found: 'none' }));
    if (labels.length === 0) return found;
    const byShard = new Map<number, number[]>();
    labels.forEach(({ predictionId }, i) => {
      const shard = joinShard(predictionId);
      const members = byShard.get(shard);
      if (members) members.push(i);
      else byShard.set(shard, [i]);
    });
    const slots = this.slots.liveSlots(now, this.options.maxFutureMs);
    // One call per shard on a cluster (its own tag); one call for all on a single node.
    const calls: { keys: string[]; args: (string | number | Buffer)[]; order: number[]; groups: number }[] = [];
    for (const [shard, members] of byShard) {
      let call = this.cluster ? undefined : calls[0];
      if (!call) calls.push((call = { keys: [], args: [], order: [], groups: 0 }));
      call.args.push(call.keys.length + 1, slots.length, members.length);
      for (const slot of slots) call.keys.push(this.keys.joinSlot(slot, shard));
      for (const i of members) {
        call.args.push(labels[i]!.predictionId, sourceHash(labels[i]!.source));
        call.order.push(i);
      }
      call.groups++;
    }
    const replies = await Promise.all(calls.map((call) => this.client.dwClaimJoinsBuffer(call.keys.length, call.keys, call.groups, call.args)));
    calls.forEach((call, c) => {
      const reply = replies[c]!;
      call.order.forEach((i, j) => {
        const status = Number(reply[2 * j]);
        const record = reply[2 * j + 1] as Buffer;
        found[i] = status === 1 ? { found: 'claimed', record } : status === 2 ? { found: 'mine', record } : status === 3 ? { found: 'other' } : { found: 'none' };
      });
    });
    return found;
  }

  /** The oldest labels waiting in a label partition: [member, arrival time]. */
  async pending(topic: string, partition: number, limit: number): Promise<[string, number][]> {
    const flat = await this.client.zrange(this.keys.partition(topic, partition).pending, 0, limit - 1, 'WITHSCORES');
    const entries: [string, number][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i]!, Number(flat[i + 1])]);
    return entries;
  }

  async pendingCount(partitions: readonly { topic: string; partition: number }[]): Promise<number> {
    const counts = await Promise.all(partitions.map(({ topic, partition }) => this.client.zcard(this.keys.partition(topic, partition).pending)));
    return counts.reduce((sum, n) => sum + n, 0);
  }
}
