import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis, type Result } from 'ioredis';
import type { BucketDelta } from '../aggregate/index.ts';
import { ModelSummary } from '../aggregate/index.ts';
import type { ModelRole } from '../events.ts';
import { DriftwatchError, errorMessage, type ErrorCode } from '../errors.ts';
import { KeyLayout, modelKey, watermarkField, type Resolution } from './keys.ts';

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');

declare module 'ioredis' {
  interface RedisCommander<Context> {
    dwApplyBatch(numKeys: number, ...args: (string | Buffer | number)[]): Result<[number, string, number?, number[]?], Context>;
    dwCompactList(key: string, count: number, merged: Buffer, firstSha: string, lastSha: string): Result<number, Context>;
  }
}

export interface ResolutionSpec {
  bucketMs: number;
  keepMs: number;
}

export interface StoreOptions {
  prefix: string;
  fine: ResolutionSpec;
  coarse: ResolutionSpec;
  maxFeaturesPerModel: number;
  /** A bucket list this long is merged into one element (appends stay cheap, reads stay short). */
  compactAt?: number;
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
}

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

  constructor(readonly redis: Redis, private readonly options: StoreOptions) {
    this.keys = new KeyLayout(options.prefix);
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

  bucketStart(resolution: Resolution, time: number): number {
    const { bucketMs } = this.options[resolution];
    return time - (time % bucketMs);
  }

  async applyBatch(batch: BatchWrite): Promise<BatchResult> {
    const keyIndex = new Map<string, number>();
    const keys: string[] = [this.keys.watermarks()];
    const ref = (key: string): number => {
      let index = keyIndex.get(key);
      if (index === undefined) {
        keys.push(key);
        index = keys.length; // Lua KEYS are 1-based
        keyIndex.set(key, index);
      }
      return index;
    };
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
      for (const [feature, values] of summary.features) {
        admissions.push('F', registry, feature);
        if (values.logged > 0) ops.push('T', totals, registry, feature, values.logged);
      }
      const blob = summary.encode();
      for (const resolution of ['fine', 'coarse'] as const) {
        const { bucketMs, keepMs } = this.options[resolution];
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

    const reply = await this.redis.dwApplyBatch(
      keys.length,
      ...keys,
      watermarkField(batch.topic, batch.partition),
      batch.expectedWatermark,
      batch.newWatermark,
      this.options.maxFeaturesPerModel,
      this.compactAt,
      ...admissions,
      ...ops,
    );
    const [applied, watermark, refused, longIndexes] = reply;
    if (applied !== 1) return { applied: false, watermark: String(watermark) };
    if (refused) await this.redis.hincrby(this.keys.overflow(), 'features', refused);
    return {
      applied: true,
      watermark: String(watermark),
      refusedFeatures: refused ?? 0,
      longLists: (longIndexes ?? []).map((index) => keys[Number(index) - 1]!),
    };
  }

  /** Merges a bucket list into one element; a lost race with another compactor is harmless. */
  async compact(key: string): Promise<boolean> {
    const blobs = await this.redis.lrangeBuffer(key, 0, -1);
    if (blobs.length < 2) return false;
    const merged = ModelSummary.mergeAll(blobs).encode();
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
    return { count: Number(fields['n'] ?? 0), errors: Number(fields['err'] ?? 0), features };
  }

  async monitoredFeatures(model: string): Promise<string[]> {
    return (await this.redis.hkeys(this.keys.features(model))).sort();
  }

  async counters(which: 'dlq' | 'overflow'): Promise<Record<string, number>> {
    const key = which === 'dlq' ? this.keys.deadLetters() : this.keys.overflow();
    return Object.fromEntries(Object.entries(await this.redis.hgetall(key)).map(([k, v]) => [k, Number(v)]));
  }

  /** One merged summary per bucket start (empty buckets included), read in one round trip. */
  async buckets(model: string, resolution: Resolution, starts: readonly number[]): Promise<ModelSummary[]> {
    if (starts.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const start of starts) pipeline.lrangeBuffer(this.keys.bucket(resolution, model, start), 0, -1);
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, blobs]) => {
      // One failed command does not reject exec(): check every reply.
      if (error) throw new DriftwatchError('DW_ERR_STATE', `reading ${model} failed: ${errorMessage(error)}`, { retriable: true });
      return ModelSummary.mergeAll(blobs as Buffer[]);
    });
  }

  /** The merged summary of a model over the buckets that overlap [from, to) at one resolution. */
  async window(model: string, resolution: Resolution, from: number, to: number): Promise<ModelSummary> {
    const { bucketMs } = this.options[resolution];
    const starts: number[] = [];
    for (let start = this.bucketStart(resolution, from); start < to; start += bucketMs) starts.push(start);
    const total = new ModelSummary();
    for (const bucket of await this.buckets(model, resolution, starts)) total.merge(bucket);
    return total;
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
