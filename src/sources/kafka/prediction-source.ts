import { Admission, modelKey, planPredictions, type AggregatorOptions, type PredictionPlan } from '../../aggregate/index.ts';
import { validatePrediction, type ValidationLimits } from '../../decode/index.ts';
import type { PredictionEvent } from '../../events.ts';
import { pairEntryOf, planPairs, type CompletedPair } from '../../join/index.ts';
import type { State } from '../../state/index.ts';
import type { BulkHistogramChild } from '../../telemetry/bulk-histogram.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';
import type { ApplyResult, BatchSource, Positioned, WriteContext } from './batch-runner.ts';

export interface PredictionSourceDeps {
  batches: State<unknown, unknown>['batches'];
  metrics: IngestMetrics;
  limits: ValidationLimits;
  aggregation: AggregatorOptions;
  /** Pairs are summed per fine bucket (the aggregation bucket is a recent one when those are kept). */
  pairBucketMs: number;
  /** Keep join records for labels at this sample rate (topology `labels`); undefined = labels are off. */
  joinSampleRate: number | undefined;
  /** Pair shadows' predictions with their primaries' by request_id (topology `comparisons`); absent = off. */
  pairs?: State<unknown, unknown>['pairs'];
}

/** Per event of a batch, the pairs it completed (undefined: none, or it takes no part). */
type Completed = (readonly CompletedPair[] | undefined)[];

/** What is read before a batch is planned: the models the fleet's registry refused, the request pairs completed. */
interface Prepared {
  refused: ReadonlySet<string>;
  completed: Completed | undefined;
}

/** Refused model keys remembered (then forgotten all at once): a flood of junk ids costs a registry call per batch at most. */
const REFUSED_MEMORY = 10_000;

/**
 * Prediction logs: validated events → per model an exact count and a summary per fine bucket (and the
 * join records, and the request pairs of shadows), written with a unit per model guarded by the model's
 * own watermark for the partition. A model found already written up to some offset (a crashed or
 * zombie writer's partial write on a cluster) is planned again with only its events above that.
 */
export class PredictionSource implements BatchSource<PredictionEvent, Prepared, PredictionPlan> {
  readonly name = 'predictions';
  private readonly admission: Admission;
  /** Models in the fleet's registry (at most caps.models). */
  private readonly registered = new Set<string>();
  /** Models the registry refused (full). */
  private refused = new Set<string>();
  /** Serving-latency histogram children by predictor, then model: no key string per event. */
  private readonly latencyChildren = new Map<string, Map<string, BulkHistogramChild>>();
  private refusedFeatures = 0;

  constructor(private readonly deps: PredictionSourceDeps) {
    this.admission = new Admission(deps.aggregation.maxModels, deps.aggregation.maxFeaturesPerModel);
  }

  validate(record: unknown, now: number) {
    return validatePrediction(record, now, this.deps.limits);
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
  async prepare(items: readonly Positioned<PredictionEvent>[], context: WriteContext): Promise<Prepared> {
    const refused = await this.register(items);
    return { refused, completed: await this.pairRequests(items, refused, context) };
  }

  plan(events: readonly Positioned<PredictionEvent>[], prepared: Prepared, _context: WriteContext, floors: ReadonlyMap<string, number>): PredictionPlan {
    const plan = planPredictions(events, { aggregation: this.deps.aggregation, admission: this.admission, joinSampleRate: this.deps.joinSampleRate, floors, refused: prepared.refused });
    if (prepared.completed) plan.pairs = planPairs(events, prepared.completed, this.deps.pairBucketMs, floors);
    return plan;
  }

  private async register(items: readonly Positioned<PredictionEvent>[]): Promise<ReadonlySet<string>> {
    const unknown = new Map<string, { key: string; predictor: string; model: string; role: string }>();
    for (const { event } of items) {
      const key = modelKey(event.predictor_name, event.model_id);
      if (!this.registered.has(key) && !this.refused.has(key)) unknown.set(key, { key, predictor: event.predictor_name, model: event.model_id, role: event.role });
    }
    if (unknown.size > 0) {
      const refused = await this.deps.batches.admitModels([...unknown.values()]);
      if (this.refused.size + refused.size > REFUSED_MEMORY) this.refused = new Set();
      for (const key of unknown.keys()) {
        if (refused.has(key)) this.refused.add(key);
        else this.registered.add(key);
      }
    }
    return this.refused;
  }

  private async pairRequests(events: readonly Positioned<PredictionEvent>[], refused: ReadonlySet<string>, context: WriteContext): Promise<Completed | undefined> {
    const { pairs } = this.deps;
    if (!pairs) return undefined;
    const wanted = events.flatMap(({ offset, event }, i) => {
      const entry = pairEntryOf(event);
      const model = modelKey(event.predictor_name, event.model_id);
      return entry && !refused.has(model) ? [{ i, offset, event, entry, model }] : [];
    });
    if (wanted.length === 0) return undefined;
    const found = await pairs.pair(
      wanted.map(({ offset, event, entry, model }) => ({
        field: entry.field,
        model,
        role: entry.role,
        // The message's position, as the runner names it: the same for every worker that replays it.
        source: `${context.topic}/${context.partition}/${offset}`,
        value: entry.value,
        sentAt: event.sent_at,
      })),
    );
    const completed: Completed = events.map(() => undefined);
    wanted.forEach(({ i }, j) => (completed[i] = found[j]));
    return completed;
  }

  async apply(plan: PredictionPlan, context: WriteContext): Promise<ApplyResult> {
    const { range } = context;
    if (!range) throw new Error('a prediction write needs the offsets it covers');
    const result = await this.deps.batches.applyPredictions({
      topic: context.topic,
      partition: context.partition,
      first: range.first,
      last: range.last,
      expected: context.expected,
      models: plan.models,
      joins: plan.joins,
      ...(plan.pairs ? { pairs: plan.pairs } : {}),
      deadLetters: context.deadLetters,
      overflowModelEvents: plan.overflowModelEvents,
    });
    if (result.kind === 'floors') return { kind: 'replan', floors: result.floors, reprepare: false };
    if (result.kind === 'watermark') return result;
    this.refusedFeatures = result.refusedFeatures;
    return { kind: 'applied' };
  }

  applied(plan: PredictionPlan): void {
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
