/**
 * The detection pipeline on a simulated clock, in memory: the same pure code a worker runs (Aggregator →
 * per-bucket ModelSummary deltas → the windows of the topology, planned with planWindow and read at the
 * resolution windowResolution picks → evaluateModel with the topology's rules and the alert states of
 * the previous tick), with a Map in place of Redis. What is left out is I/O: encoding, Redis lists and
 * their compaction (which merge the same digests in another order), Kafka. Fast enough to watch 1,000
 * series for an hour in a couple of minutes; bench/e2e/detection.ts runs the same traffic through Redis
 * and Kafka to check that nothing in between changes the answer.
 */
import { Aggregator, ModelSummary, type BucketDelta } from '../../src/aggregate/index.ts';
import { aggregationBucket, effectiveRules, windowResolution, type Topology } from '../../src/config/topology.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import type { AlertState } from '../../src/evaluate/alert-machine.ts';
import { evaluateModel, type EvaluationResult, type WindowSummary } from '../../src/evaluate/model-evaluation.ts';
import { RuleBook } from '../../src/evaluate/rules.ts';
import { planWindow } from '../../src/evaluate/windows.ts';
import type { SimulatedTraffic } from './traffic.ts';

type Resolution = 'recent' | 'fine';

/** Bucket summaries per resolution, model and bucket start, merged as deltas arrive. */
class MemoryBuckets {
  private readonly buckets: Record<Resolution, Map<string, Map<number, ModelSummary>>> = { recent: new Map(), fine: new Map() };

  constructor(private readonly sizes: Record<Resolution, number | undefined>) {}

  apply(deltas: readonly BucketDelta[]): void {
    for (const delta of deltas) {
      for (const resolution of ['recent', 'fine'] as const) {
        const size = this.sizes[resolution];
        if (size === undefined) continue;
        const key = `${delta.predictor}/${delta.model}`;
        let byStart = this.buckets[resolution].get(key);
        if (!byStart) this.buckets[resolution].set(key, (byStart = new Map()));
        const start = delta.bucketStart - (delta.bucketStart % size);
        let bucket = byStart.get(start);
        if (!bucket) byStart.set(start, (bucket = new ModelSummary()));
        bucket.merge(delta.summary);
      }
    }
  }

  /**
   * The summary of the buckets that overlap [from, to): the stored bucket itself when only one has data
   * (evaluation only reads it), else a fresh merge (the stored ones stay as they are).
   */
  window(model: string, resolution: Resolution, from: number, to: number): ModelSummary {
    const size = this.sizes[resolution]!;
    const byStart = this.buckets[resolution].get(model);
    const found: ModelSummary[] = [];
    for (let start = from - (from % size); start < to; start += size) {
      const bucket = byStart?.get(start);
      if (bucket) found.push(bucket);
    }
    if (found.length === 1) return found[0]!;
    const window = new ModelSummary();
    for (const bucket of found) window.merge(bucket);
    return window;
  }

  /** Drops buckets that ended before `before` (what the Redis TTLs do). */
  expire(before: number): void {
    for (const resolution of ['recent', 'fine'] as const) {
      const size = this.sizes[resolution] ?? 0;
      for (const byStart of this.buckets[resolution].values()) for (const start of byStart.keys()) if (start + size < before) byStart.delete(start);
    }
  }
}

export interface SimulatedModel {
  traffic: SimulatedTraffic;
  /** The loaded baseline: the reference of every window. */
  baseline: ModelSummary;
}

export interface SimulationOptions {
  topology: Topology;
  models: readonly SimulatedModel[];
  ratePerModel: number;
  /** Simulated epoch ms: traffic starts here; the first tick is one tick later. */
  start: number;
  end: number;
  /** Events are aggregated and applied in batches of this much event time (a worker flushes ~1 s at most). */
  batchMs?: number;
  /** Called after each tick's evaluations; stop early by returning true. */
  afterTick?: (now: number) => boolean | void;
  onEvaluated?: (model: SimulatedModel, now: number, result: EvaluationResult) => void;
  onAlert?: (model: SimulatedModel, event: AlertEvent) => void;
}

export interface SimulationStats {
  events: number;
  ticks: number;
  evaluations: number;
  generateMs: number;
  evaluateMs: number;
}

/** Builds a model's baseline as `driftwatch baseline load` would: every event of a training sample in one summary. */
export function baselineOf(traffic: SimulatedTraffic, events: number): ModelSummary {
  const aggregator = new Aggregator({ bucketMs: Number.MAX_SAFE_INTEGER, maxModels: 10, maxFeaturesPerModel: 1000, maxCategories: 100 });
  for (let i = 0; i < events; i++) aggregator.record(traffic.next(0));
  return aggregator.drain().deltas[0]!.summary;
}

export function simulate(options: SimulationOptions): SimulationStats {
  const { topology, ratePerModel } = options;
  const { recent, fine, coarse } = topology.state.retention;
  const tick = topology.evaluation.tick;
  const batchMs = options.batchMs ?? 1000;
  const buckets = new MemoryBuckets({ recent: recent?.bucket, fine: fine.bucket });
  const rules = new RuleBook(effectiveRules(topology), topology.rules.overrides);
  const caps = topology.state.caps;
  const aggregator = new Aggregator({ bucketMs: aggregationBucket(topology), maxModels: caps.models, maxFeaturesPerModel: caps.features_per_model, maxCategories: caps.categories_per_feature });
  const states = options.models.map(() => new Map<string, AlertState>());
  const features = options.models.map(() => new Set<string>());
  const longest = Math.max(...topology.windows.current.map((window) => window.duration));
  const stats: SimulationStats = { events: 0, ticks: 0, evaluations: 0, generateMs: 0, evaluateMs: 0 };
  const perMs = ratePerModel / 1000;

  for (let now = options.start + tick; now <= options.end; now += tick) {
    const generating = performance.now();
    for (let batch = now - tick; batch < now; batch += batchMs) {
      const to = Math.min(now, batch + batchMs);
      options.models.forEach((model, m) => {
        const count = Math.round((to - options.start) * perMs) - Math.round((batch - options.start) * perMs);
        for (let i = 0; i < count; i++) {
          const event = model.traffic.next(Math.floor(batch + ((i + 0.5) * (to - batch)) / count));
          for (const name in event.features) features[m]!.add(name);
          aggregator.record(event);
        }
        stats.events += count;
      });
      buckets.apply(aggregator.drain().deltas);
    }
    buckets.expire(now - longest - 2 * fine.bucket);
    const evaluating = performance.now();
    stats.generateMs += evaluating - generating;

    options.models.forEach((model, m) => {
      const key = `${model.traffic.predictor}/${model.traffic.model}`;
      const windows: WindowSummary[] = topology.windows.current.map((window) => {
        const resolution = windowResolution(topology, window.duration);
        const plan = planWindow(now, window.duration, topology.windows.reference.duration, resolution === 'recent' ? recent!.bucket : fine.bucket, coarse.bucket);
        return { name: window.name, summary: buckets.window(key, resolution, plan.current.from, now + 1), seconds: (now - plan.current.from) / 1000 };
      });
      const result = evaluateModel({
        predictor: model.traffic.predictor,
        model: model.traffic.model,
        features: [...features[m]!].sort(),
        windows,
        reference: model.baseline,
        referenceLabel: 'baseline',
        rules,
        states: states[m]!,
        now,
      });
      for (const change of result.changes) {
        if (change.state) states[m]!.set(change.field, change.state);
        else states[m]!.delete(change.field);
        if (change.event) options.onAlert?.(model, change.event);
      }
      options.onEvaluated?.(model, now, result);
      stats.evaluations++;
    });
    stats.evaluateMs += performance.now() - evaluating;
    stats.ticks++;
    if (options.afterTick?.(now) === true) break;
  }
  return stats;
}
