import type { StateCodecs } from './codecs.ts';
import { sha1 } from './compaction.ts';
import type { RedisClient } from './connection.ts';
import type { KeyLayout, Resolution } from './keys.ts';

const WRITE_BACKS_IN_FLIGHT = 8;
const ROLES = ['primary', 'shadow', 'canary'] as const;
const ROLE_FIELDS = ROLES.map((role) => `r:${role}`);

export interface ModelEntry {
  key: string;
  predictor: string;
  model: string;
  role: string;
}

export interface Totals {
  count: number;
  errors: number;
  features: Map<string, number>;
  /** Labels joined to this model's predictions since monitoring began (exact). */
  labeled: number;
  /** Feature names refused because the model's registry is full. */
  refusedFeatures: number;
}

/** Counters of every source partition, added up: dead letters by code, overflow by kind, labels by outcome. */
export interface PartitionCounters {
  dlq: Record<string, number>;
  overflow: Record<string, number>;
  labels: Record<string, number>;
}

/**
 * The read side: which models exist, their exact totals and monitored features, their bucket
 * summaries and performance over any span, and the sources' counters. A model's reads are all on its
 * own hash tag: on a cluster they go to one master, pipelined.
 */
export class WindowStore<S, P, Q = unknown> {
  private writeBacksInFlight = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly keys: KeyLayout,
    private readonly codecs: StateCodecs<S, P, Q>,
    /** Recent buckets only when they are kept (state.retention.recent). */
    private readonly resolutions: Record<Exclude<Resolution, 'recent'>, { bucketMs: number }> & { recent?: { bucketMs: number } | undefined },
  ) {}

  bucketStart(resolution: Resolution, time: number): number {
    const { bucketMs } = this.resolution(resolution);
    return time - (time % bucketMs);
  }

  private resolution(resolution: Resolution): { bucketMs: number } {
    const spec = this.resolutions[resolution];
    if (!spec) throw new Error(`no ${resolution} resolution is configured`);
    return spec;
  }

  async models(): Promise<ModelEntry[]> {
    const entries = await this.client.hgetall(this.keys.models());
    return Object.entries(entries)
      .map(([key, json]) => {
        const meta = JSON.parse(json) as { predictor: string; model: string; role: string };
        return { key, predictor: meta.predictor, model: meta.model, role: meta.role };
      })
      .sort((a, b) => a.key.localeCompare(b.key));
  }

  /**
   * Each model's role now: the role of its latest event (by sent_at), kept per role in its totals by
   * ingest; models written before roles were kept there have none (the registry's role at first sight stands).
   */
  async roles(models: readonly string[]): Promise<Map<string, string>> {
    const replies = await Promise.all(models.map((model) => this.client.hmget(this.keys.model(model).totals, ...ROLE_FIELDS)));
    const roles = new Map<string, string>();
    models.forEach((model, i) => {
      let latest = -1;
      replies[i]!.forEach((value, r) => {
        if (value !== null && Number(value) > latest) {
          latest = Number(value);
          roles.set(model, ROLES[r]!);
        }
      });
    });
    return roles;
  }

  async totals(model: string): Promise<Totals> {
    const fields = await this.client.hgetall(this.keys.model(model).totals);
    const features = new Map<string, number>();
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith('f:')) features.set(field.slice(2), Number(value));
    }
    return { count: Number(fields['n'] ?? 0), errors: Number(fields['err'] ?? 0), features, labeled: Number(fields['lab'] ?? 0), refusedFeatures: Number(fields['of'] ?? 0) };
  }

  async monitoredFeatures(model: string): Promise<string[]> {
    return (await this.client.hkeys(this.keys.model(model).features)).sort();
  }

  /**
   * One merged summary per bucket start (empty buckets included). A reader that merged a list of
   * several deltas writes the merge back (the compaction script's compare-and-set keeps it safe against
   * concurrent appends), so the next read of the bucket decodes one element. Not recent buckets: they
   * are read about once when complete, so encoding their merge to write it back is wasted.
   */
  async summaries(model: string, resolution: Resolution, starts: readonly number[]): Promise<S[]> {
    const keys = this.keys.model(model);
    const lists = starts.map((start) => keys.bucket(resolution, start));
    const codec = this.codecs.summary;
    return (await this.lists(lists)).map((blobs, index) => {
      const merged = codec.merge(blobs);
      // Bounded: a tick over thousands of models must not queue thousands of merged blobs at once.
      if (blobs.length >= 2 && resolution !== 'recent' && this.writeBacksInFlight < WRITE_BACKS_IN_FLIGHT) {
        this.writeBacksInFlight++;
        this.client
          .dwCompactList(lists[index]!, blobs.length, codec.encode(merged), sha1(blobs[0]!), sha1(blobs[blobs.length - 1]!))
          .catch(() => undefined) // a lost race or a blip: the list is merged again on a later read
          .finally(() => this.writeBacksInFlight--);
      }
      return merged;
    });
  }

  /** The merged performance (labels joined to predictions made in [from, to)) at one resolution. */
  async performance(model: string, resolution: Resolution, from: number, to: number): Promise<P> {
    const { bucketMs } = this.resolution(resolution);
    const keys = this.keys.model(model);
    const lists: string[] = [];
    for (let start = this.bucketStart(resolution, from); start < to; start += bucketMs) lists.push(keys.performance(resolution, start));
    return this.codecs.performance.merge((await this.lists(lists)).flat());
  }

  /** The merged pairs of a shadow model's predictions made in [from, to) at one resolution. */
  async pairs(model: string, resolution: Resolution, from: number, to: number): Promise<Q> {
    const { bucketMs } = this.resolution(resolution);
    const keys = this.keys.model(model);
    const lists: string[] = [];
    for (let start = this.bucketStart(resolution, from); start < to; start += bucketMs) lists.push(keys.pairs(resolution, start));
    return this.codecs.pairs.merge((await this.lists(lists)).flat());
  }

  /** The source partitions written so far, as topic and partition. */
  async partitions(): Promise<{ topic: string; partition: number }[]> {
    const names = await this.client.smembers(this.keys.partitions());
    return names.map((name) => {
      const at = name.lastIndexOf('/');
      return { topic: name.slice(0, at), partition: Number(name.slice(at + 1)) };
    });
  }

  async counters(): Promise<PartitionCounters> {
    const partitions = await this.partitions();
    const states = await Promise.all(partitions.map(({ topic, partition }) => this.client.hgetall(this.keys.partition(topic, partition).state)));
    const counters: PartitionCounters = { dlq: {}, overflow: {}, labels: {} };
    const add = (into: Record<string, number>, name: string, value: string) => (into[name] = (into[name] ?? 0) + Number(value));
    for (const state of states) {
      for (const [field, value] of Object.entries(state)) {
        if (field.startsWith('dlq:')) add(counters.dlq, field.slice(4), value);
        else if (field.startsWith('overflow:')) add(counters.overflow, field.slice(9), value);
        else if (field.startsWith('label:')) add(counters.labels, field.slice(6), value);
      }
    }
    return counters;
  }

  /** Every element of each list, read together (pipelined; on a cluster, keys of one model share a master). */
  private async lists(keys: readonly string[]): Promise<Buffer[][]> {
    return Promise.all(keys.map((key) => this.client.lrangeBuffer(key, 0, -1)));
  }
}
