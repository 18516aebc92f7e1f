import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis, type Result } from 'ioredis';
import type { BucketDelta } from '../aggregate/index.ts';
import { ModelSummary, PerformanceSummary } from '../aggregate/index.ts';
import type { ModelRole } from '../events.ts';
import { DriftwatchError, errorMessage, type ErrorCode } from '../errors.ts';
import { JoinSlots, joinShard } from './join-slots.ts';
import { KeyLayout, modelKey, watermarkField, type Resolution } from './keys.ts';
import { encodePairs } from './msgpack-pairs.ts';

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Arrays are spread into the command by ioredis (one level): a batch's ops never go through a JS spread. */
    dwApplyBatch(numKeys: number, ...args: (string | Buffer | number | (string | Buffer | number)[])[]): Result<[number, string, number?, number[]?], Context>;
    dwCompactList(key: string, count: number, merged: Buffer, firstSha: string, lastSha: string): Result<number, Context>;
  }
}

export interface ResolutionSpec {
  bucketMs: number;
  keepMs: number;
}

export interface StoreOptions {
  prefix: string;
  /** Small buckets of the last seconds, for short current windows (absent: none are written). */
  recent?: ResolutionSpec | undefined;
  fine: ResolutionSpec;
  coarse: ResolutionSpec;
  maxFeaturesPerModel: number;
  /** A bucket list this long is merged into one element (appends stay cheap, reads stay short). */
  compactAt?: number;
  /** Join records: kept `ttlMs` (state.label_join_ttl); `sent_at` up to `maxFutureMs` ahead is accepted. */
  labelJoin?: { ttlMs: number; maxFutureMs: number };
}

/** A prediction's join record, kept for its label (HSETNX: the first with an id wins). */
export interface JoinEntry {
  predictionId: string;
  sentAt: number;
  record: Buffer;
}

/** A join record found for a label, and where it lives (a label write marks it there). */
export interface JoinHit {
  record: Buffer;
  slotKey: string;
}

export interface BatchWrite {
  topic: string;
  partition: number;
  /** The watermark read before aggregating ("" when the partition has none yet). */
  expectedWatermark: string;
  /** The last offset this batch covers. */
  newWatermark: string;
  deltas: readonly BucketDelta[];
  deadLetters: ReadonlyMap<ErrorCode, number>;
  overflowModelEvents: number;
  /** Join records of this batch's predictions, kept `label_join_ttl` for their labels. */
  joins?: readonly JoinEntry[];
}

/** What one label write applies: with a partition watermark (a label batch) or without (retries). */
export interface LabelWrite {
  watermark?: { topic: string; partition: number; expected: string; next: string };
  /** Performance deltas per model (model key) and prediction-time fine bucket. */
  deltas: readonly { model: string; bucketStart: number; summary: PerformanceSummary }[];
  /** Labels joined per model (model key): the exact labeled_total. */
  labeled: ReadonlyMap<string, number>;
  outcomes: ReadonlyMap<string, number>;
  /** Join records this write marks labeled (checked: unlabeled until now). */
  joined: readonly { predictionId: string; slotKey: string }[];
  /** Labels that start waiting for their prediction. */
  pendingAdded: readonly { member: string; score: number }[];
  /** Waiting labels this write resolves (checked: still waiting). */
  pendingResolved: readonly string[];
  /** Dead-lettered labels by error code. */
  deadLetters?: ReadonlyMap<ErrorCode, number>;
}

export type LabelWriteResult =
  | { applied: true; longLists: string[] }
  | { applied: false; reason: 'watermark'; watermark: string }
  | { applied: false; reason: 'conflict' };

export type BatchResult =
  | { applied: true; watermark: string; refusedFeatures: number; longLists: string[] }
  | { applied: false; watermark: string };

export interface ModelEntry {
  key: string;
  predictor: string;
  model: string;
  role: ModelRole;
  firstSeen: number;
}

export interface Totals {
  count: number;
  errors: number;
  features: Map<string, number>;
  /** Labels joined to this model's predictions since monitoring began (exact). */
  labeled: number;
}

/** Whether a join record is the mark "L" it becomes once labeled (a second label for it is a duplicate). */
export const isJoinedMark = (record: Buffer): boolean => record.length === 1 && record[0] === 0x4c;

const COMPACTIONS_IN_FLIGHT = 2;
const WRITE_BACKS_IN_FLIGHT = 8;
const MAX_QUEUED_COMPACTIONS = 10_000;

/**
 * The KEYS of one apply-batch call, numbered as the ops refer to them: KEYS[1] is the watermark hash,
 * and every other key gets its 1-based index the first time an op names it.
 */
function scriptKeys(watermarks: string): { keys: string[]; ref: (key: string) => number } {
  const keys = [watermarks];
  const index = new Map<string, number>([[watermarks, 1]]);
  const ref = (key: string): number => {
    let at = index.get(key);
    if (at === undefined) {
      keys.push(key);
      at = keys.length;
      index.set(key, at);
    }
    return at;
  };
  return { keys, ref };
}

const sha1 = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('hex');

/**
 * All Redis state of one topology. Writers only append and increment, inside one Lua call per
 * partition batch that also moves the partition's offset watermark, so workers never contend on a
 * read-modify-write and a replayed batch is never counted twice.
 */
export class RedisStateStore {
  readonly keys: KeyLayout;
  private readonly compactAt: number;
  private readonly compactionQueue = new Set<string>();
  private compactionsInFlight = 0;
  private readonly running = new Set<Promise<unknown>>();
  private writeBacksInFlight = 0;
  private closing = false;
  /** Features this worker saw admitted into their model's registry (bounded by the caps). */
  private readonly admitted = new Map<string, Set<string>>();
  private readonly joinSlots: JoinSlots;
  private readonly maxFutureMs: number;

  constructor(readonly redis: Redis, private readonly options: StoreOptions) {
    this.keys = new KeyLayout(options.prefix);
    this.joinSlots = new JoinSlots(options.labelJoin?.ttlMs ?? 7 * 86_400_000);
    this.maxFutureMs = options.labelJoin?.maxFutureMs ?? 300_000;
    this.compactAt = options.compactAt ?? 16;
    redis.defineCommand('dwApplyBatch', { lua: script('apply-batch') });
    redis.defineCommand('dwCompactList', { numberOfKeys: 1, lua: script('compact-list') });
  }

  static connect(url: string, options: StoreOptions): RedisStateStore {
    const redis = new Redis(url, {
      lazyConnect: false,
      maxRetriesPerRequest: null, // commands wait for a reconnect instead of failing a batch
      enableOfflineQueue: true,
      retryStrategy: (attempt) => Math.min(5000, 100 * 2 ** Math.min(attempt, 6)),
    });
    return new RedisStateStore(redis, options);
  }

  async readWatermark(topic: string, partition: number): Promise<string> {
    return (await this.redis.hget(this.keys.watermarks(), watermarkField(topic, partition))) ?? '';
  }

  /** The resolutions every prediction delta is written to (recent only when configured). */
  private get resolutions(): readonly Resolution[] {
    return this.options.recent ? ['recent', 'fine', 'coarse'] : ['fine', 'coarse'];
  }

  private resolution(resolution: Resolution): ResolutionSpec {
    const spec = resolution === 'recent' ? this.options.recent : this.options[resolution];
    if (!spec) throw new DriftwatchError('DW_ERR_INTERNAL', `no ${resolution} resolution is configured`);
    return spec;
  }

  bucketStart(resolution: Resolution, time: number): number {
    const { bucketMs } = this.resolution(resolution);
    return time - (time % bucketMs);
  }

  async applyBatch(batch: BatchWrite): Promise<BatchResult> {
    const { keys, ref } = scriptKeys(this.keys.watermarks());
    // Registry admissions first: the totals ops that follow depend on them.
    const admissions: (string | number | Buffer)[] = [];
    const ops: (string | number | Buffer)[] = [];
    const models = ref(this.keys.models());
    const roles = new Map<string, { model: string; role: ModelRole; predictor: string }>();
    for (const delta of batch.deltas) {
      const model = modelKey(delta.predictor, delta.model);
      roles.set(model, { model: delta.model, role: delta.role, predictor: delta.predictor });
      const registry = ref(this.keys.features(model));
      const totals = ref(this.keys.totals(model));
      const { summary } = delta;
      ops.push('I', totals, 'n', summary.count);
      if (summary.errors > 0) ops.push('I', totals, 'err', summary.errors);
      const known = this.admitted.get(model);
      for (const [feature, values] of summary.features) {
        if (known?.has(feature)) {
          // Admitted by an earlier write of this worker: a plain increment, no registry round.
          if (values.logged > 0) ops.push('I', totals, `f:${feature}`, values.logged);
          continue;
        }
        admissions.push('F', registry, feature);
        if (values.logged > 0) ops.push('T', totals, registry, feature, values.logged);
      }
      const blob = summary.encode();
      for (const resolution of this.resolutions) {
        const { bucketMs, keepMs } = this.resolution(resolution);
        const start = this.bucketStart(resolution, delta.bucketStart);
        // Kept until the bucket's end is `keep` old.
        ops.push('L', ref(this.keys.bucket(resolution, model, start)), blob, keepMs + bucketMs);
      }
    }
    for (const [model, entry] of roles) {
      const meta = JSON.stringify({ predictor: entry.predictor, model: entry.model, role: entry.role });
      ops.push('N', models, model, meta);
    }
    const deadLetters = ref(this.keys.deadLetters());
    for (const [code, count] of batch.deadLetters) ops.push('I', deadLetters, code, count);
    if (batch.overflowModelEvents > 0) ops.push('I', ref(this.keys.overflow()), 'model_events', batch.overflowModelEvents);

    if (batch.joins && batch.joins.length > 0) this.pushJoinOps(batch.joins, ref, ops);

    const reply = await this.redis.dwApplyBatch(
      keys.length,
      keys,
      watermarkField(batch.topic, batch.partition),
      batch.expectedWatermark,
      batch.newWatermark,
      this.options.maxFeaturesPerModel,
      this.compactAt,
      admissions,
      ops,
    );
    const [applied, watermark, refused, longIndexes] = reply;
    if (applied !== 1) return { applied: false, watermark: String(watermark) };
    if (!refused) {
      // Every feature of the batch is in its model's registry now; registries only grow.
      for (const delta of batch.deltas) {
        const model = modelKey(delta.predictor, delta.model);
        let known = this.admitted.get(model);
        if (!known) this.admitted.set(model, (known = new Set()));
        for (const feature of delta.summary.features.keys()) known.add(feature);
      }
    }
    if (refused) await this.redis.hincrby(this.keys.overflow(), 'features', refused);
    return {
      applied: true,
      watermark: String(watermark),
      refusedFeatures: refused ?? 0,
      longLists: (longIndexes ?? []).map((index) => keys[Number(index) - 1]!),
    };
  }

  /** One 'H' op per join hash (slot and shard) the records go to: the records packed in one argument. */
  private pushJoinOps(joins: readonly JoinEntry[], ref: (key: string) => number, ops: (string | number | Buffer)[]): void {
    // Grouped by a number (slots are whole minutes, shards < 16): no key string per record.
    const groups = new Map<number, { slot: number; shard: number; ids: string[]; records: Buffer[] }>();
    for (const { predictionId, sentAt, record } of joins) {
      const slot = this.joinSlots.slotOf(sentAt);
      const shard = joinShard(predictionId);
      let group = groups.get(slot + shard);
      if (!group) groups.set(slot + shard, (group = { slot, shard, ids: [], records: [] }));
      group.ids.push(predictionId);
      group.records.push(record);
    }
    for (const { slot, shard, ids, records } of groups.values()) {
      ops.push('H', ref(this.keys.joinSlot(slot, shard)), encodePairs(ids, records), this.joinSlots.expiresAt(slot));
    }
  }

  /** One atomic label write (apply-batch.lua): deltas, counters, join marks, pending changes, watermark. */
  async applyLabels(write: LabelWrite): Promise<LabelWriteResult> {
    const { keys, ref } = scriptKeys(this.keys.watermarks());
    const ops: (string | number | Buffer)[] = [];
    const pending = ref(this.keys.pendingLabels());
    for (const { predictionId, slotKey } of write.joined) ops.push('J', ref(slotKey), predictionId);
    for (const member of write.pendingResolved) ops.push('P', pending, member);
    for (const { member, score } of write.pendingAdded) ops.push('Q', pending, score, member);
    for (const delta of write.deltas) {
      const blob = delta.summary.encode();
      for (const resolution of ['fine', 'coarse'] as const) {
        const { bucketMs, keepMs } = this.options[resolution];
        ops.push('L', ref(this.keys.performanceBucket(resolution, delta.model, this.bucketStart(resolution, delta.bucketStart))), blob, keepMs + bucketMs);
      }
    }
    for (const [model, n] of write.labeled) ops.push('I', ref(this.keys.totals(model)), 'lab', n);
    const outcomes = ref(this.keys.labelOutcomes());
    for (const [outcome, n] of write.outcomes) if (n > 0) ops.push('I', outcomes, outcome, n);
    if (write.deadLetters && write.deadLetters.size > 0) {
      const deadLetters = ref(this.keys.deadLetters());
      for (const [code, n] of write.deadLetters) ops.push('I', deadLetters, code, n);
    }
    const { watermark } = write;
    const reply = await this.redis.dwApplyBatch(
      keys.length,
      keys,
      watermark ? watermarkField(watermark.topic, watermark.partition) : '',
      watermark?.expected ?? '',
      watermark?.next ?? '',
      this.options.maxFeaturesPerModel,
      this.compactAt,
      ops,
    );
    const [code, current, , longIndexes] = reply;
    if (code === 0) return { applied: false, reason: 'watermark', watermark: String(current) };
    if (code === 2) return { applied: false, reason: 'conflict' };
    return { applied: true, longLists: (longIndexes ?? []).map((index) => keys[Number(index) - 1]!) };
  }

  /**
   * Join records by prediction id (null where there is none): every join hash that can exist at `now`
   * probed in the id's shard, one pipelined HMGET per hash and chunk of ids. A labeled mark anywhere
   * wins (the prediction is labeled); else the newest slot's record.
   */
  async joinRecords(ids: readonly string[], now: number): Promise<(JoinHit | null)[]> {
    const hits: (JoinHit | null)[] = ids.map(() => null);
    const byShard = new Map<number, number[]>();
    ids.forEach((id, i) => {
      const shard = joinShard(id);
      const members = byShard.get(shard);
      if (members) members.push(i);
      else byShard.set(shard, [i]);
    });
    const slots = this.joinSlots.liveSlots(now, this.maxFutureMs);
    const reads: { key: string; members: number[] }[] = [];
    const pipeline = this.redis.pipeline();
    for (const [shard, members] of byShard) {
      for (let start = 0; start < members.length; start += 1000) {
        const chunk = members.slice(start, start + 1000);
        for (const slot of slots) {
          const key = this.keys.joinSlot(slot, shard);
          reads.push({ key, members: chunk });
          pipeline.hmgetBuffer(key, ...chunk.map((i) => ids[i]!));
        }
      }
    }
    const replies = await pipeline.exec();
    reads.forEach(({ key, members }, r) => {
      const [error, values] = replies![r]!;
      if (error) throw error;
      (values as (Buffer | null)[]).forEach((record, j) => {
        if (record === null) return;
        const i = members[j]!;
        const held = hits[i];
        if (!held || (isJoinedMark(record) && !isJoinedMark(held.record))) hits[i] = { record, slotKey: key };
      });
    });
    return hits;
  }

  /** The oldest waiting labels: [member, arrival time]. */
  async pendingLabels(limit: number): Promise<[string, number][]> {
    const flat = await this.redis.zrange(this.keys.pendingLabels(), 0, limit - 1, 'WITHSCORES');
    const entries: [string, number][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push([flat[i]!, Number(flat[i + 1])]);
    return entries;
  }

  async pendingLabelCount(): Promise<number> {
    return this.redis.zcard(this.keys.pendingLabels());
  }

  /**
   * A short lease on retrying waiting labels, so that one worker at a time does it (two would only
   * conflict: every write is checked). Renewed by its holder.
   */
  async claimLabelRetry(worker: string, ttlMs: number): Promise<boolean> {
    const held = await this.redis.eval(
      "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end return 0",
      1,
      this.keys.lease('__labels__'),
      worker,
      ttlMs,
    );
    return held === 1;
  }

  /** Merges a bucket list into one element; a lost race with another compactor is harmless. */
  /**
   * Queues bucket lists for compaction in the background, at most COMPACTIONS_IN_FLIGHT at a time and
   * each key once: under load (many models, small batches) thousands of lists fill up together, and
   * compacting them all at once would hold their decoded summaries in memory together. A list that is
   * not compacted now is signalled again when it grows by another `compactAt` elements.
   */
  scheduleCompaction(keys: readonly string[], onError: (key: string, error: unknown) => void): void {
    for (const key of keys) {
      if (this.compactionQueue.size < MAX_QUEUED_COMPACTIONS) this.compactionQueue.add(key);
    }
    while (this.compactionsInFlight < COMPACTIONS_IN_FLIGHT && this.compactionQueue.size > 0) {
      const key = this.compactionQueue.values().next().value as string;
      this.compactionQueue.delete(key);
      this.compactionsInFlight++;
      const running = this.compact(key)
        .catch((error: unknown) => onError(key, error))
        .finally(() => {
          this.compactionsInFlight--;
          this.running.delete(running);
          if (!this.closing) this.scheduleCompaction([], onError);
        });
      this.running.add(running);
    }
  }

  async compact(key: string): Promise<boolean> {
    const blobs = await this.redis.lrangeBuffer(key, 0, -1);
    if (blobs.length < 2) return false;
    const merged = key.startsWith(`${this.keys.root}:perf:`) ? PerformanceSummary.mergeAll(blobs).encode() : ModelSummary.mergeAll(blobs).encode();
    const done = await this.redis.dwCompactList(key, blobs.length, merged, sha1(blobs[0]!), sha1(blobs[blobs.length - 1]!));
    return done === 1;
  }

  async models(): Promise<ModelEntry[]> {
    const entries = await this.redis.hgetall(this.keys.models());
    return Object.entries(entries)
      .map(([key, json]) => {
        const meta = JSON.parse(json) as { predictor: string; model: string; role: ModelRole; first_seen?: number };
        return { key, predictor: meta.predictor, model: meta.model, role: meta.role, firstSeen: meta.first_seen ?? 0 };
      })
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  async totals(model: string): Promise<Totals> {
    const fields = await this.redis.hgetall(this.keys.totals(model));
    const features = new Map<string, number>();
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith('f:')) features.set(field.slice(2), Number(value));
    }
    return { count: Number(fields['n'] ?? 0), errors: Number(fields['err'] ?? 0), features, labeled: Number(fields['lab'] ?? 0) };
  }

  async monitoredFeatures(model: string): Promise<string[]> {
    return (await this.redis.hkeys(this.keys.features(model))).sort();
  }

  async counters(which: 'dlq' | 'overflow' | 'labels'): Promise<Record<string, number>> {
    const key = which === 'dlq' ? this.keys.deadLetters() : which === 'labels' ? this.keys.labelOutcomes() : this.keys.overflow();
    return Object.fromEntries(Object.entries(await this.redis.hgetall(key)).map(([k, v]) => [k, Number(v)]));
  }

  /** One merged summary per bucket start (empty buckets included), read in one round trip. */
  /**
   * One merged summary per bucket start (empty buckets included), read in one round trip. A reader
   * that merged a list of several deltas writes the merge back (the compaction script's compare-and-set
   * keeps it safe against concurrent appends), so the next read of the bucket decodes one element.
   */
  async buckets(model: string, resolution: Resolution, starts: readonly number[]): Promise<ModelSummary[]> {
    const keys = starts.map((start) => this.keys.bucket(resolution, model, start));
    const lists = await this.lists(model, keys);
    return lists.map((blobs, index) => {
      const merged = ModelSummary.mergeAll(blobs);
      // Bounded: a tick over thousands of models must not queue thousands of merged blobs at once. Recent
      // buckets are read about once when complete, so encoding their merge to write it back is wasted.
      if (blobs.length >= 2 && resolution !== 'recent' && this.writeBacksInFlight < WRITE_BACKS_IN_FLIGHT) {
        this.writeBacksInFlight++;
        this.redis
          .dwCompactList(keys[index]!, blobs.length, merged.encode(), sha1(blobs[0]!), sha1(blobs[blobs.length - 1]!))
          .catch(() => undefined) // a lost race or a blip: the list is merged again on a later read
          .finally(() => this.writeBacksInFlight--);
      }
      return merged;
    });
  }

  /** The merged performance (labels joined to predictions made in [from, to)) at one resolution. */
  async performanceWindow(model: string, resolution: Resolution, from: number, to: number): Promise<PerformanceSummary> {
    const { bucketMs } = this.resolution(resolution);
    const keys: string[] = [];
    for (let start = this.bucketStart(resolution, from); start < to; start += bucketMs) keys.push(this.keys.performanceBucket(resolution, model, start));
    const total = new PerformanceSummary();
    for (const blobs of await this.lists(model, keys)) for (const blob of blobs) total.merge(PerformanceSummary.decode(blob));
    return total;
  }

  /** Every element of each list, in one round trip. */
  private async lists(model: string, keys: readonly string[]): Promise<Buffer[][]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.lrangeBuffer(key, 0, -1);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, blobs]) => {
      // One failed command does not reject exec(): check every reply.
      if (error) throw new DriftwatchError('DW_ERR_STATE', `reading ${model} failed: ${errorMessage(error)}`, { retriable: true });
      return blobs as Buffer[];
    });
  }

  /** The merged summary of a model over the buckets that overlap [from, to) at one resolution. */
  async window(model: string, resolution: Resolution, from: number, to: number): Promise<ModelSummary> {
    const { bucketMs } = this.resolution(resolution);
    const starts: number[] = [];
    for (let start = this.bucketStart(resolution, from); start < to; start += bucketMs) starts.push(start);
    return ModelSummary.combine(await this.buckets(model, resolution, starts));
  }

  async close(): Promise<void> {
    // Compactions in flight finish first (the queue is dropped: the lists are merged on a later read).
    this.closing = true;
    this.compactionQueue.clear();
    await Promise.allSettled([...this.running]);
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
