import type { KafkaMessage } from 'kafkajs';
import type { AggregatorOptions } from '../../aggregate/index.ts';
import type { ValidationLimits } from '../../decode/index.ts';
import type { CompletedPair } from '../../join/index.ts';
import type { State } from '../../state/index.ts';
import type { BulkHistogramChild } from '../../telemetry/bulk-histogram.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';
import type { SchemaRegistryCache } from '../schema-registry.ts';
import type { ApplyResult, BatchSource, DecodeContext, DecodedBatch, WriteContext } from './batch-runner.ts';
import { PlanningThread } from './planning-pool.ts';
import { LocalPlanner, type BatchModel, type DecodedPredictions, type PlanInputs, type PlannedPredictions, type Planner } from './prediction-planner.ts';

export interface PredictionSourceDeps {
  batches: State<unknown, unknown>['batches'];
  schemas: SchemaRegistryCache;
  metrics: IngestMetrics;
  logger: Logger;
  limits: ValidationLimits & { maxMessageBytes: number };
  aggregation: AggregatorOptions;
  /** Pairs are summed per fine bucket (the aggregation bucket is a recent one when those are kept). */
  pairBucketMs: number;
  /** Keep join records for labels at this sample rate (topology `labels`); undefined = labels are off. */
  joinSampleRate: number | undefined;
  joinTtlMs: number;
  /** Decode and plan on a thread of its own (sources.planning_thread), or on this one. */
  thread: boolean;
  /** Pair shadows' predictions with their primaries' by request_id (topology `comparisons`); absent = off. */
  pairs?: State<unknown, unknown>['pairs'];
}

/** What is read before a batch is planned: the models the fleet's registry refused, the request pairs completed. */
type Prepared = Omit<PlanInputs, 'floors'>;

/** Refused model keys remembered (then forgotten all at once): a flood of junk ids costs a registry call per batch at most. */
const REFUSED_MEMORY = 10_000;

/**
 * Prediction logs: validated events → per model an exact count and a summary per fine bucket (and the
 * join records, and the request pairs of shadows), written with a unit per model guarded by the model's
 * own watermark for the partition. A model found already written up to some offset (a crashed or
 * zombie writer's partial write on a cluster) is planned again with only its events above that.
 * Decoding and planning run in the planner (prediction-planner.ts), on the worker's planning thread by
 * default; what they need from Redis in between is read here.
 */
export class PredictionSource implements BatchSource<DecodedPredictions, Prepared, PlannedPredictions> {
  readonly name = 'predictions';
  private readonly planner: Planner;
  /** Models in the fleet's registry (at most caps.models). */
  private readonly registered = new Set<string>();
  /** Models the registry refused (full). */
  private refused = new Set<string>();
  /** Serving-latency histogram children by predictor, then model: no key string per event. */
  private readonly latencyChildren = new Map<string, Map<string, BulkHistogramChild>>();
  private refusedFeatures = 0;

  constructor(private readonly deps: PredictionSourceDeps) {
    const options = { limits: deps.limits, aggregation: deps.aggregation, joinSampleRate: deps.joinSampleRate, joinTtlMs: deps.joinTtlMs, pairing: deps.pairs !== undefined, pairBucketMs: deps.pairBucketMs };
    this.planner = deps.thread ? new PlanningThread(options, deps.schemas, deps.logger) : new LocalPlanner(options, deps.schemas);
  }

  async decode(messages: readonly KafkaMessage[], context: DecodeContext): Promise<DecodedBatch<DecodedPredictions>> {
    const decoded = await this.planner.decode(
      messages.map((message) => message.value),
      messages.map((message) => Number(message.offset)),
      context.times,
    );
    return { items: decoded, accepted: decoded.accepted, rejected: decoded.rejected };
  }

  /** The state regressed: which models are registered is asked again. */
  forgetModels(): void {
    this.registered.clear();
    this.refused.clear();
  }

  /**
   * Models new to this worker are registered in the fleet's registry first, capped at caps.models
   * across every worker and restart: the events of a model it refuses are overflow (counted, not
   * kept), so junk model ids cannot crowd real ones out or grow the state. Then the batch's primaries
   * and shadows with a request id enter their requests' entries (pair-requests.lua).
   */
  async prepare(batch: DecodedPredictions, context: WriteContext): Promise<Prepared> {
    const refused = await this.register(batch.models);
    return { refused, completed: await this.pairRequests(batch, refused, context) };
  }

  plan(batch: DecodedPredictions, prepared: Prepared, _context: WriteContext, floors: ReadonlyMap<string, number>): Promise<PlannedPredictions> {
    return this.planner.plan(batch.id, { ...prepared, floors });
  }

  release(batch: DecodedPredictions): void {
    this.planner.release(batch.id);
  }

  /** Stops the planning thread. */
  async close(): Promise<void> {
    await this.planner.close();
  }

  /** The batch's models the registry refused (only those: the plan request stays small). */
  private async register(models: readonly BatchModel[]): Promise<ReadonlySet<string>> {
    const unknown = models.filter(({ key }) => !this.registered.has(key) && !this.refused.has(key));
    if (unknown.length > 0) {
      const refused = await this.deps.batches.admitModels(unknown);
      if (this.refused.size + refused.size > REFUSED_MEMORY) this.refused = new Set();
      for (const { key } of unknown) {
        if (refused.has(key)) this.refused.add(key);
        else this.registered.add(key);
      }
    }
    return new Set(models.filter(({ key }) => this.refused.has(key)).map(({ key }) => key));
  }

  private async pairRequests(batch: DecodedPredictions, refused: ReadonlySet<string>, context: WriteContext): Promise<Map<number, readonly CompletedPair[]>> {
    const completed = new Map<number, readonly CompletedPair[]>();
    const { pairs } = this.deps;
    const wanted = batch.pairCandidates.filter(({ model }) => !refused.has(model));
    if (!pairs || wanted.length === 0) return completed;
    const found = await pairs.pair(
      wanted.map(({ offset, entry, model, sentAt }) => ({
        field: entry.field,
        model,
        role: entry.role,
        // The message's position, as the runner names it: the same for every worker that replays it.
        source: `${context.topic}/${context.partition}/${offset}`,
        value: entry.value,
        sentAt,
      })),
    );
    wanted.forEach(({ index }, j) => {
      if (found[j] && found[j].length > 0) completed.set(index, found[j]);
    });
    return completed;
  }

  async apply(plan: PlannedPredictions, context: WriteContext): Promise<ApplyResult> {
    const { range } = context;
    if (!range) throw new Error('a prediction write needs the offsets it covers');
    const result = await this.deps.batches.applyPredictions({
      topic: context.topic,
      partition: context.partition,
      first: range.first,
      last: range.last,
      expected: context.expected,
      models: plan.models,
      joinGroups: plan.joinGroups,
      ...(plan.pairs ? { pairs: plan.pairs } : {}),
      deadLetters: context.deadLetters,
      overflowModelEvents: plan.overflowModelEvents,
    });
    if (result.kind === 'floors') return { kind: 'replan', floors: result.floors, reprepare: false };
    if (result.kind === 'watermark') return result;
    this.refusedFeatures = result.refusedFeatures;
    return { kind: 'applied' };
  }

  applied(plan: PlannedPredictions): void {
    const { metrics } = this.deps;
    if (plan.overflowModelEvents > 0) metrics.overflow.inc({ kind: 'model_events' }, plan.overflowModelEvents);
    if (this.refusedFeatures > 0) metrics.overflow.inc({ kind: 'features' }, this.refusedFeatures);
    for (const model of plan.models) {
      const labels = { predictor: model.predictor, model: model.model };
      metrics.events.inc({ ...labels, outcome: 'accepted' }, model.count - model.errors);
      if (model.errors > 0) metrics.events.inc({ ...labels, outcome: 'failed' }, model.errors);
      // Observed once the write is in: a write planned again after a conflict is not observed twice.
      if (model.latenciesMs.length > 0) {
        const child = this.latencyChild(model.predictor, model.model);
        for (const ms of model.latenciesMs) child.observe(ms / 1000);
      }
    }
  }

  private latencyChild(predictor: string, model: string): BulkHistogramChild {
    let models = this.latencyChildren.get(predictor);
    if (!models) this.latencyChildren.set(predictor, (models = new Map()));
    let child = models.get(model);
    if (!child) models.set(model, (child = this.deps.metrics.servingLatency.labels({ predictor, model })));
    return child;
  }
}
