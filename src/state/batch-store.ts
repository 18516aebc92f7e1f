import { ByteReader, ByteWriter } from '../sketch/index.ts';
import type { RedisClient } from './connection.ts';
import type { Compactor } from './compaction.ts';
import type { JoinGroup } from '../join/index.ts';
import type { JoinStore } from './join-store.ts';
import { partitionName, type KeyLayout, type ModelKeys, type Resolution } from './keys.ts';
import { UnitBatch, type UnitWriter } from './units.ts';

const FINE_AND_COARSE: readonly Resolution[] = ['fine', 'coarse'];

export interface ResolutionSpec {
  bucketMs: number;
  keepMs: number;
}

export interface BatchStoreOptions {
  /** Small buckets of the last seconds, for current windows shorter than a fine bucket (absent: none are written). */
  recent?: ResolutionSpec | undefined;
  fine: ResolutionSpec;
  coarse: ResolutionSpec;
  maxFeaturesPerModel: number;
  /** The fleet's model registry holds at most this many models (caps.models). */
  maxModels: number;
  /** A bucket list this long is merged into one element (appends stay cheap, reads stay short). */
  compactAt: number;
}

/** What one write adds to one model (aggregate/prediction-plan.ts makes these). */
export interface ModelWrite {
  key: string;
  predictor: string;
  model: string;
  role: string;
  /** The first offset of the model's messages here: the model's part applies only if none is in yet. */
  firstOffset: number;
  count: number;
  errors: number;
  /** Every feature seen → values logged. */
  features: ReadonlyMap<string, number>;
  /** Encoded summary per aggregation bucket start (the recent bucket when recent buckets are kept, else the fine one). */
  buckets: readonly { start: number; bytes: Buffer }[];
  /** Per role the model's events had here, their latest sent_at (the model's role now is that of its latest event). */
  roles?: ReadonlyMap<string, number>;
}

/** Pairs completed in one write for one shadow model (join/plan-pairs.ts): encoded PairSummary per fine bucket start. */
export interface ModelPairWrite {
  key: string;
  /** The first offset of the messages that completed them: the part applies with the model's own, under the same watermark. */
  firstOffset: number;
  buckets: readonly { start: number; bytes: Buffer }[];
}

/** One partition batch of predictions: the models' deltas, the join records, the partition's counters. */
export interface PredictionWrite {
  topic: string;
  partition: number;
  /** First and last offset the batch covers (the fresh ones). */
  first: number;
  last: number;
  /** The partition's watermark the batch was planned against (compare-and-set; undefined: any below `first`). */
  expected?: number | undefined;
  models: readonly ModelWrite[];
  /** Join records, packed per hash (idempotent: written again on a replay). */
  joinGroups: readonly JoinGroup[];
  /** Paired predictions, per shadow model (which may have no events of its own here). */
  pairs?: readonly ModelPairWrite[];
  deadLetters: ReadonlyMap<string, number>;
  overflowModelEvents: number;
}

export type PredictionWriteResult =
  | { kind: 'applied'; refusedFeatures: number }
  /** The partition's watermark is at or past `first`: another writer got there; start over from it. */
  | { kind: 'watermark'; watermark: number }
  /** These models' parts are in up to these offsets (a partial write of a crashed or zombie worker): plan them again above. */
  | { kind: 'floors'; floors: Map<string, number> };

/** Performance joined to one model's predictions: per prediction-time fine bucket, and the labels counted. */
export interface ModelPerformanceWrite {
  key: string;
  labeled: number;
  buckets: readonly { start: number; bytes: Buffer }[];
}

/** One label write: a batch of a label partition (with its offsets) or a retry of its waiting labels (without). */
export interface LabelCommit {
  topic: string;
  partition: number;
  range?: { first: number; last: number };
  /** The partition's watermark the batch was planned against (compare-and-set). */
  expected?: number | undefined;
  outcomes: ReadonlyMap<string, number>;
  deadLetters: ReadonlyMap<string, number>;
  pendingAdded: readonly { member: string; score: number }[];
  /** Checked: each must still wait, or nothing is written ('conflict'). */
  pendingResolved: readonly string[];
  models: readonly ModelPerformanceWrite[];
}

export type LabelCommitResult = { kind: 'applied' } | { kind: 'watermark'; watermark: number } | { kind: 'conflict' };

/**
 * The write side of ingest, exactly once. A prediction batch is a unit per model (guarded by the
 * model's own watermark for the partition), join-record units (idempotent) and, last, the partition's
 * unit (its watermark and counters). A label batch is committed in one unit on its partition (outcome
 * counters, waiting labels, and a journal entry holding the performance deltas, numbered), then the
 * entry is applied to each model (guarded by the last entry applied there) and deleted: a crash
 * anywhere leaves either nothing or an entry that the next writer of the partition applies first.
 */
export class BatchStore {
  private readonly registeredModels = new Set<string>();
  private readonly registeredPartitions = new Set<string>();
  /** Features this worker saw admitted into their model's registry (bounded by the caps). */
  private readonly admitted = new Map<string, Set<string>>();
  /** Per label partition: the last journal entry this worker applied, when it knows every earlier one is applied. */
  private readonly journalApplied = new Map<string, number>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly cluster: boolean,
    private readonly joins: JoinStore,
    private readonly compactor: Compactor,
    private readonly options: BatchStoreOptions,
  ) {}

  /** The last offset applied for a source partition (-1 when none). */
  async watermark(topic: string, partition: number): Promise<number> {
    const stored = await this.client.hget(this.keys.partition(topic, partition).state, 'wm');
    return stored === null ? -1 : Number(stored);
  }

  /** Forget what this worker knew of partitions it no longer owns. */
  forgetPartitions(): void {
    this.journalApplied.clear();
  }

  /** Forget everything this worker cached about the state (it regressed: the registries may be gone). */
  forgetAll(): void {
    this.journalApplied.clear();
    this.registeredModels.clear();
    this.registeredPartitions.clear();
    this.admitted.clear();
  }

  /**
   * Registers models in the fleet's registry, capped at caps.models across every worker and restart;
   * returns the keys refused (the registry is full). A model registered once stays admitted.
   */
  async admitModels(models: readonly { key: string; predictor: string; model: string; role: string }[]): Promise<Set<string>> {
    const batch = new UnitBatch(this.cluster);
    const { ops } = batch.unit(this.keys.root, { kind: 'none' });
    for (const model of models) ops.register(this.keys.models(), model.key, JSON.stringify({ predictor: model.predictor, model: model.model, role: model.role }), this.options.maxModels);
    const result = await batch.run(this.client, { compactAt: this.options.compactAt, featureCap: this.options.maxFeaturesPerModel });
    const refused = new Set(result.refusedRegistrations);
    for (const model of models) if (!refused.has(model.key)) this.registeredModels.add(model.key);
    return refused;
  }

  /**
   * A label partition whose state regressed: its journal numbering moves to the next epoch, so that
   * entries committed from now on are numbered above any a model applied before the regression (on a
   * cluster the models' masters may have kept more than the partition's).
   */
  async rebaseJournal(topic: string, partition: number): Promise<void> {
    const batch = new UnitBatch(this.cluster);
    const state = this.keys.partition(topic, partition);
    batch.unit(state.tag, { kind: 'none' }).ops.nextEpoch(state.state, 'seq');
    await batch.run(this.client, { compactAt: this.options.compactAt, featureCap: this.options.maxFeaturesPerModel });
    this.journalApplied.delete(partitionName(topic, partition));
  }

  bucketStart(resolution: Resolution, time: number): number {
    const { bucketMs } = this.resolution(resolution);
    return time - (time % bucketMs);
  }

  private resolution(resolution: Resolution): ResolutionSpec {
    const spec = this.options[resolution];
    if (!spec) throw new Error(`no ${resolution} resolution is configured`);
    return spec;
  }

  async applyPredictions(write: PredictionWrite): Promise<PredictionWriteResult> {
    const batch = new UnitBatch(this.cluster);
    const registration = this.registration(batch, write.models, write.topic, write.partition);
    this.joins.addWriteUnits(batch, write.joinGroups, 0);
    const field = partitionName(write.topic, write.partition);
    // A model's pairs go in its own unit (one watermark guards both); a shadow with pairs only gets one of its own.
    const pairs = new Map((write.pairs ?? []).map((pair) => [pair.key, pair]));
    const appendPairs = (ops: UnitWriter, keys: ModelKeys, pair: ModelPairWrite | undefined) => {
      for (const { start, bytes } of pair?.buckets ?? []) this.appendBucket(ops, (resolution, at) => keys.pairs(resolution, at), start, bytes);
    };
    const modelUnits = write.models.map((model) => {
      const keys = this.keys.model(model.key);
      const pair = pairs.get(model.key);
      pairs.delete(model.key);
      const first = pair ? Math.min(model.firstOffset, pair.firstOffset) : model.firstOffset;
      const { ops, handle } = batch.unit(keys.tag, { kind: 'after', key: keys.watermarks, field, first, last: write.last });
      ops.increment(keys.totals, 'n', model.count);
      if (model.errors > 0) ops.increment(keys.totals, 'err', model.errors);
      for (const [role, at] of model.roles ?? []) ops.greatest(keys.totals, `r:${role}`, at);
      appendPairs(ops, keys, pair);
      const known = this.admitted.get(model.key);
      for (const [feature, logged] of model.features) {
        if (known?.has(feature)) {
          // Admitted by an earlier write of this worker: a plain increment, no registry round.
          if (logged > 0) ops.increment(keys.totals, `f:${feature}`, logged);
          continue;
        }
        ops.admitFeature(keys.features, feature, keys.totals);
        if (logged > 0) ops.countFeature(keys.totals, keys.features, feature, logged);
      }
      for (const { start, bytes } of model.buckets) this.appendBucket(ops, (resolution, at) => keys.bucket(resolution, at), start, bytes, this.summaryResolutions);
      return { model: model.key, handle };
    });
    for (const pair of pairs.values()) {
      const keys = this.keys.model(pair.key);
      const { ops, handle } = batch.unit(keys.tag, { kind: 'after', key: keys.watermarks, field, first: pair.firstOffset, last: write.last });
      appendPairs(ops, keys, pair);
      modelUnits.push({ model: pair.key, handle });
    }
    const state = this.keys.partition(write.topic, write.partition);
    const partition = batch.unit(state.tag, { kind: 'after', key: state.state, field: 'wm', first: write.first, last: write.last, ...(write.expected === undefined ? {} : { expected: write.expected }) }, 1);
    for (const [code, count] of write.deadLetters) partition.ops.increment(state.state, `dlq:${code}`, count);
    if (write.overflowModelEvents > 0) partition.ops.increment(state.state, 'overflow:model_events', write.overflowModelEvents);

    const result = await batch.run(this.client, { compactAt: this.options.compactAt, featureCap: this.options.maxFeaturesPerModel });
    const partitionStatus = result.statuses.get(partition.handle);
    if (partitionStatus?.status === 'refused') return { kind: 'watermark', watermark: partitionStatus.stored };
    const floors = new Map<string, number>();
    for (const { model, handle } of modelUnits) {
      const status = result.statuses.get(handle);
      if (status?.status === 'refused') floors.set(model, status.stored);
    }
    if (floors.size > 0) {
      // On a cluster the partition's unit was not sent: a replay of a batch that is all in looks like this too.
      const watermark = partitionStatus === undefined ? await this.watermark(write.topic, write.partition) : -1;
      if (watermark >= write.first) return { kind: 'watermark', watermark };
      return { kind: 'floors', floors };
    }
    if (!result.complete) throw new Error(`prediction write of ${field} neither applied nor refused`);
    registration();
    if (result.refusedFeatures === 0) {
      // Every feature of the write is in its model's registry now; registries only grow.
      for (const model of write.models) {
        let known = this.admitted.get(model.key);
        if (!known) this.admitted.set(model.key, (known = new Set()));
        for (const feature of model.features.keys()) known.add(feature);
      }
    }
    this.compactor.schedule(result.longLists);
    return { kind: 'applied', refusedFeatures: result.refusedFeatures };
  }

  /**
   * Commits a label write on its partition, then applies it to the models (and any entry a crashed
   * writer left before it, first). Returns 'watermark' when the batch's offsets are in already, and
   * 'conflict' when a waiting label it resolves was resolved by another writer meanwhile.
   */
  async commitLabels(commit: LabelCommit): Promise<LabelCommitResult> {
    const batch = new UnitBatch(this.cluster);
    const registration = this.registration(batch, [], commit.topic, commit.partition);
    const state = this.keys.partition(commit.topic, commit.partition);
    const guard = commit.range
      ? ({ kind: 'commit', key: state.state, field: 'wm', first: commit.range.first, last: commit.range.last, seqField: 'seq', ...(commit.expected === undefined ? {} : { expected: commit.expected }) } as const)
      : ({ kind: 'next', key: state.state, seqField: 'seq' } as const);
    const { ops, handle } = batch.unit(state.tag, guard);
    for (const [outcome, n] of commit.outcomes) if (n > 0) ops.increment(state.state, `label:${outcome}`, n);
    for (const [code, n] of commit.deadLetters) ops.increment(state.state, `dlq:${code}`, n);
    for (const member of commit.pendingResolved) ops.resolvePending(state.pending, member);
    for (const { member, score } of commit.pendingAdded) ops.addPending(state.pending, score, member);
    if (commit.models.length > 0) ops.journal(state.journal, encodeJournal(commit.models));

    const result = await batch.run(this.client, { compactAt: this.options.compactAt, featureCap: this.options.maxFeaturesPerModel });
    const status = result.statuses.get(handle)!;
    if (status.status === 'refused') return { kind: 'watermark', watermark: status.stored };
    if (status.status === 'conflict') return { kind: 'conflict' };
    registration();
    const name = partitionName(commit.topic, commit.partition);
    if (commit.models.length > 0) {
      const known = this.journalApplied.get(name);
      // Entries must reach a model in order: apply only this one when every earlier one is known applied.
      if (known === status.seq - 1) await this.applyJournalEntry(commit.topic, commit.partition, status.seq, commit.models);
      else await this.drainJournal(commit.topic, commit.partition);
    }
    this.journalApplied.set(name, status.seq);
    return { kind: 'applied' };
  }

  /** Applies every journal entry of a label partition, oldest first (a crashed writer's leftovers). */
  async drainJournal(topic: string, partition: number): Promise<number> {
    const state = this.keys.partition(topic, partition);
    const entries = await this.client.hgetallBuffer(state.journal);
    const ordered = Object.entries(entries)
      .map(([seq, blob]) => ({ seq: Number(seq), blob }))
      .sort((a, b) => a.seq - b.seq);
    for (const { seq, blob } of ordered) await this.applyJournalEntry(topic, partition, seq, decodeJournal(blob));
    const last = ordered.at(-1)?.seq;
    if (last !== undefined) this.journalApplied.set(partitionName(topic, partition), last);
    return ordered.length;
  }

  private async applyJournalEntry(topic: string, partition: number, seq: number, models: readonly ModelPerformanceWrite[]): Promise<void> {
    const batch = new UnitBatch(this.cluster);
    const field = `l:${partitionName(topic, partition)}`;
    for (const model of models) {
      const keys = this.keys.model(model.key);
      const { ops } = batch.unit(keys.tag, { kind: 'seq', key: keys.watermarks, field, seq });
      for (const { start, bytes } of model.buckets) this.appendBucket(ops, (resolution, at) => keys.performance(resolution, at), start, bytes);
      if (model.labeled > 0) ops.increment(keys.totals, 'lab', model.labeled);
    }
    const state = this.keys.partition(topic, partition);
    batch.unit(state.tag, { kind: 'none' }, 1).ops.deleteField(state.journal, String(seq));
    const result = await batch.run(this.client, { compactAt: this.options.compactAt, featureCap: this.options.maxFeaturesPerModel });
    // A model that refuses the entry has it already (an earlier attempt, or a concurrent drainer, applied
    // it there; entries reach a model in order), so the entry is done either way. On a single node a
    // refusal means the whole entry was applied (one call each); on a cluster the other models' calls
    // applied meanwhile, and only the deletion (the later phase) is left.
    if (!result.complete) await this.client.hdel(state.journal, String(seq));
    this.compactor.schedule(result.longLists);
  }

  /**
   * Summaries go to the recent buckets too when those are kept (the aggregator then makes deltas per
   * recent bucket, each inside one fine bucket); performance and pairs are read per fine bucket only.
   */
  private get summaryResolutions(): readonly Resolution[] {
    return this.options.recent ? ['recent', 'fine', 'coarse'] : FINE_AND_COARSE;
  }

  /** Appends a bucket's blob to the list of each resolution's bucket holding it, each kept until that bucket's end is `keep` old. */
  private appendBucket(ops: UnitWriter, key: (resolution: Resolution, start: number) => string, start: number, bytes: Buffer, resolutions: readonly Resolution[] = FINE_AND_COARSE): void {
    for (const resolution of resolutions) {
      const { bucketMs, keepMs } = this.resolution(resolution);
      ops.append(key(resolution, this.bucketStart(resolution, start)), bytes, keepMs + bucketMs);
    }
  }

  /**
   * Models and partitions this worker has not registered yet, in the global registry (idempotent,
   * capped: a model admitted by admitModels is in already). Returns what to remember once the write is in.
   */
  private registration(batch: UnitBatch, models: readonly ModelWrite[], topic: string, partition: number): () => void {
    const newModels = models.filter((model) => !this.registeredModels.has(model.key));
    const name = partitionName(topic, partition);
    const newPartition = !this.registeredPartitions.has(name);
    if (newModels.length === 0 && !newPartition) return () => undefined;
    const { ops } = batch.unit(this.keys.root, { kind: 'none' });
    for (const model of newModels) ops.register(this.keys.models(), model.key, JSON.stringify({ predictor: model.predictor, model: model.model, role: model.role }), this.options.maxModels);
    if (newPartition) ops.addMember(this.keys.partitions(), name);
    return () => {
      for (const model of newModels) this.registeredModels.add(model.key);
      this.registeredPartitions.add(name);
    };
  }
}

/** A journal entry: the performance deltas of one label commit, per model. */
export function encodeJournal(models: readonly ModelPerformanceWrite[]): Buffer {
  const writer = new ByteWriter();
  writer.varint(models.length);
  for (const model of models) {
    writer.string(model.key).varint(model.labeled).varint(model.buckets.length);
    for (const { start, bytes } of model.buckets) writer.varint(start).bytes(bytes);
  }
  return writer.finishBuffer();
}

function decodeJournal(blob: Buffer): ModelPerformanceWrite[] {
  const reader = new ByteReader(blob, 'label journal entry');
  const models: ModelPerformanceWrite[] = [];
  for (let m = reader.varint(); m > 0; m--) {
    const key = reader.string();
    const labeled = reader.varint();
    const buckets: { start: number; bytes: Buffer }[] = [];
    for (let b = reader.varint(); b > 0; b--) buckets.push({ start: reader.varint(), bytes: Buffer.from(reader.bytes()) });
    models.push({ key, labeled, buckets });
  }
  return models;
}
