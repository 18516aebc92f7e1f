/**
 * The Redis key layout, in one place. Keys carry a hash tag (the part in braces) that decides their
 * Redis Cluster slot, and every Lua call touches keys of one tag only, so the same layout runs on a
 * single node and on a cluster, where the state spreads over every master:
 *
 * Per model, tag {p|m|<modelKey>} — everything ingest and evaluation do to one model is one slot:
 *   :features                 HASH  feature → "1": the monitored features (capped in Lua)
 *   :totals                   HASH  n, err, lab, f:<feature>, of (features refused) — exact since monitoring began;
 *                                   r:<role> → the latest sent_at seen with that role (the model's role now: the latest)
 *   :b:<res>:<start>          LIST  encoded ModelSummary deltas of one bucket, res = recent|fine|coarse (TTL = keep)
 *   :perf:<res>:<start>       LIST  encoded PerformanceSummary deltas of one prediction-time bucket (TTL = keep)
 *   :wm                       HASH  <topic>/<partition> → last offset written for this model (exactly once);
 *                                   l:<topic>/<partition> → last label journal entry applied to it
 *   :baseline                 STRING encoded ModelSummary of the training data
 *   :lease                    STRING worker id holding the model's evaluation lease (PX TTL)
 *   :alerts                   HASH  rule|feature → JSON alert state (pending or firing)
 *   :outbox                   LIST  alert events written with their state, not yet on Kafka
 *   :published                ZSET  id:state of alert events Kafka acknowledged → time
 *   :pairs:<res>:<start>      LIST  encoded PairSummary deltas (a shadow's predictions paired with its primary's) (TTL = keep)
 *   :comparison               STRING JSON state of the candidate's comparison with its baseline (TTL: coarse keep)
 *   :verdict                  HASH  event (the verdict event JSON), published_at — the audit record and outbox (TTL: audit_ttl)
 * Per source partition, tag {p|p|<topic>/<partition>}:
 *   :state                    HASH  wm (last offset applied), seq (label commits), dlq:<code>, overflow:<kind>, label:<outcome>
 *   :pending                  ZSET  labels waiting for their prediction (JSON) → arrival time (ms)
 *   :journal                  HASH  seq → a committed label write not yet applied to every model
 * Per join shard, tag {p|j|<shard>}:
 *   :join:<slot>              HASH  prediction id → join record, or "L" + label source hash + record once claimed;
 *                                   per sent_at slot (expires with its slot: join/slots.ts)
 * Per pair shard, tag {p|q|<shard>}:
 *   :pair:<slot>              HASH  predictor NUL request id → MessagePack entries of the predictions of that request
 *                                   (pair-requests.lua); per sent_at slot, expiring with it
 * Global, tag {p}:
 *   :models                   HASH  modelKey → JSON {predictor, model, role}
 *   :workers                  ZSET  worker id → last heartbeat (ms)
 *   :partitions               SET   <topic>/<partition> of every source partition written (their counters add up in status)
 *   :generation               STRING a random id set once: another one (or none) means the dataset was lost or replaced
 */
export type Resolution = 'recent' | 'fine' | 'coarse';

export interface ModelKeys {
  tag: string;
  features: string;
  totals: string;
  watermarks: string;
  baseline: string;
  lease: string;
  alerts: string;
  outbox: string;
  published: string;
  comparison: string;
  verdict: string;
  bucket(resolution: Resolution, start: number): string;
  performance(resolution: Resolution, start: number): string;
  pairs(resolution: Resolution, start: number): string;
}

export interface PartitionKeys {
  tag: string;
  state: string;
  pending: string;
  journal: string;
}

export class KeyLayout {
  /** The global tag, `{prefix}`. */
  readonly root: string;

  constructor(readonly prefix: string) {
    this.root = `{${prefix}}`;
  }

  models(): string {
    return `${this.root}:models`;
  }
  workers(): string {
    return `${this.root}:workers`;
  }
  partitions(): string {
    return `${this.root}:partitions`;
  }
  generation(): string {
    return `${this.root}:generation`;
  }

  model(model: string): ModelKeys {
    const tag = `{${this.prefix}|m|${model}}`;
    return {
      tag,
      features: `${tag}:features`,
      totals: `${tag}:totals`,
      watermarks: `${tag}:wm`,
      baseline: `${tag}:baseline`,
      lease: `${tag}:lease`,
      alerts: `${tag}:alerts`,
      outbox: `${tag}:outbox`,
      published: `${tag}:published`,
      comparison: `${tag}:comparison`,
      verdict: `${tag}:verdict`,
      bucket: (resolution, start) => `${tag}:b:${resolution}:${start}`,
      performance: (resolution, start) => `${tag}:perf:${resolution}:${start}`,
      pairs: (resolution, start) => `${tag}:pairs:${resolution}:${start}`,
    };
  }

  partition(topic: string, partition: number): PartitionKeys {
    const tag = `{${this.prefix}|p|${partitionName(topic, partition)}}`;
    return { tag, state: `${tag}:state`, pending: `${tag}:pending`, journal: `${tag}:journal` };
  }

  joinShardTag(shard: number): string {
    return `{${this.prefix}|j|${shard}}`;
  }
  joinSlot(slot: number, shard: number): string {
    return `${this.joinShardTag(shard)}:join:${slot}`;
  }

  pairShardTag(shard: number): string {
    return `{${this.prefix}|q|${shard}}`;
  }
  pairSlot(slot: number, shard: number): string {
    return `${this.pairShardTag(shard)}:pair:${slot}`;
  }

  /** SCAN patterns that find every key of this prefix and of no other. */
  patterns(): string[] {
    return [`${escapeGlob(this.root)}*`, `${escapeGlob(`{${this.prefix}|`)}*`];
  }
}

/** The tag of a key: what Redis Cluster hashes to pick its slot. */
export function tagOf(key: string): string {
  return key.slice(0, key.indexOf('}') + 1);
}

export const isPerformanceList = (key: string): boolean => key.includes('}:perf:');
export const isPairList = (key: string): boolean => key.includes('}:pairs:');

export function partitionName(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

const escapeGlob = (text: string): string => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
