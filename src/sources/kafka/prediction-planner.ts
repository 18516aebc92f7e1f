import { Admission, modelKey, planPredictions, type AggregatorOptions, type PositionedEvent, type PredictionPlan } from '../../aggregate/index.ts';
import { compileWriterSchema, decodeMessage, validatePrediction, type AvroBodyDecoder, type ValidationLimits, type WriterSchemaLookup } from '../../decode/index.ts';
import type { ModelRole } from '../../events.ts';
import { JoinSlots, packJoinRecords, pairEntryOf, planPairs, type CompletedPair, type JoinGroup, type PairEntry } from '../../join/index.ts';
import type { SchemaDefinition } from '../schema-registry.ts';
import type { RejectedMessage } from './batch-runner.ts';

export interface PlannerOptions {
  limits: ValidationLimits & { maxMessageBytes: number };
  aggregation: AggregatorOptions;
  /** Keep join records for labels at this sample rate; undefined: labels are off. */
  joinSampleRate: number | undefined;
  /** state.label_join_ttl: the join records' slots. */
  joinTtlMs: number;
  /** Shadows are paired with their primaries by request_id (comparisons on): decoding lists who takes part. */
  pairing: boolean;
  /** Pairs are summed per fine bucket (the aggregation bucket is a recent one when those are kept). */
  pairBucketMs: number;
}

/** A model of a batch, as the fleet's model registry is asked about it. */
export interface BatchModel {
  key: string;
  predictor: string;
  model: string;
  role: ModelRole;
}

/** A valid event that enters its request's pair entry (pair-requests.lua). */
export interface PairCandidate {
  /** The event's index among the batch's valid events. */
  index: number;
  offset: number;
  model: string;
  entry: PairEntry;
  sentAt: number;
}

/** A batch decoded and validated, its valid events kept by the planner under `id` until it is released. */
export interface DecodedPredictions {
  id: number;
  rejected: RejectedMessage[];
  accepted: number;
  /** Each model of the valid events once, with the role of its first. */
  models: BatchModel[];
  /** Empty unless pairing. */
  pairCandidates: PairCandidate[];
}

/** What the planner needs, besides the batch, to plan its write (read from Redis by the worker's other thread). */
export interface PlanInputs {
  /** Model keys the fleet's registry refused (caps.models reached): their events are overflow. */
  refused: ReadonlySet<string>;
  /** Per valid event index, the pairs it completed. */
  completed: ReadonlyMap<number, readonly CompletedPair[]>;
  /** Per model key: events at or below this offset are in state already. */
  floors: ReadonlyMap<string, number>;
}

/** The write plan of a batch, its join records packed per hash. */
export type PlannedPredictions = Omit<PredictionPlan, 'joins'> & { joinGroups: JoinGroup[] };

/** The planner, wherever it runs: in the worker's thread, or on its planning thread (planning-pool.ts). */
export interface Planner {
  decode(values: readonly (Buffer | null)[], offsets: readonly number[], times: readonly number[]): Promise<DecodedPredictions>;
  plan(id: number, inputs: PlanInputs): Promise<PlannedPredictions>;
  release(id: number): void;
  close(): Promise<void>;
}

/**
 * Prediction-log messages → their write plan, in two steps around what only Redis knows: decode and
 * validate a batch (the rejected, the models to register, the requests to pair), then plan it (per model
 * exact counts and a summary per fine bucket, the pairs per shadow, the join records packed). Pure and
 * synchronous (each message's clock comes in with it), and the same wherever it runs; the valid events
 * stay here between the steps, so they never cross threads. Keeps the worker's model and feature caps.
 */
export class PredictionPlanner {
  private readonly admission: Admission;
  private readonly slots: JoinSlots;
  private readonly batches = new Map<number, PositionedEvent[]>();
  private nextId = 0;

  constructor(private readonly options: PlannerOptions) {
    this.admission = new Admission(options.aggregation.maxModels, options.aggregation.maxFeaturesPerModel);
    this.slots = new JoinSlots(options.joinTtlMs);
  }

  decode(values: readonly (Buffer | null)[], offsets: readonly number[], times: readonly number[], schemas: WriterSchemaLookup): DecodedPredictions {
    const { limits, pairing } = this.options;
    const rejected: RejectedMessage[] = [];
    const events: PositionedEvent[] = [];
    const models = new Map<string, BatchModel>();
    const pairCandidates: PairCandidate[] = [];
    for (let i = 0; i < values.length; i++) {
      const validated = decodeMessage(values[i]!, limits.maxMessageBytes, schemas, (record) => validatePrediction(record, times[i]!, limits));
      if (!validated.ok) {
        rejected.push({ ...validated, index: i });
        continue;
      }
      const { event } = validated;
      const offset = offsets[i]!;
      const key = modelKey(event.predictor_name, event.model_id);
      if (!models.has(key)) models.set(key, { key, predictor: event.predictor_name, model: event.model_id, role: event.role });
      const entry = pairing ? pairEntryOf(event) : undefined;
      if (entry) pairCandidates.push({ index: events.length, offset, model: key, entry, sentAt: event.sent_at });
      events.push({ offset, event });
    }
    const id = this.nextId++;
    this.batches.set(id, events);
    return { id, rejected, accepted: events.length, models: [...models.values()], pairCandidates };
  }

  plan(id: number, { refused, completed, floors }: PlanInputs): PlannedPredictions {
    const events = this.batches.get(id);
    if (!events) throw new Error(`batch ${id} is not held by this planner (its thread was restarted): decode it again`);
    const { joins, ...plan } = planPredictions(events, { aggregation: this.options.aggregation, admission: this.admission, joinSampleRate: this.options.joinSampleRate, floors, refused });
    if (completed.size > 0) {
      const byEvent = events.map((_, i) => completed.get(i));
      plan.pairs = planPairs(events, byEvent, this.options.pairBucketMs, floors);
    }
    return { ...plan, joinGroups: packJoinRecords(joins, this.slots) };
  }

  release(id: number): void {
    this.batches.delete(id);
  }
}

/** The planner in the worker's own thread (sources.planning_thread: false), decoding with the registry cache itself. */
export class LocalPlanner implements Planner {
  private readonly planner: PredictionPlanner;

  constructor(
    options: PlannerOptions,
    private readonly schemas: WriterSchemaLookup,
  ) {
    this.planner = new PredictionPlanner(options);
  }

  async decode(values: readonly (Buffer | null)[], offsets: readonly number[], times: readonly number[]): Promise<DecodedPredictions> {
    return this.planner.decode(values, offsets, times, this.schemas);
  }

  async plan(id: number, inputs: PlanInputs): Promise<PlannedPredictions> {
    return this.planner.plan(id, inputs);
  }

  release(id: number): void {
    this.planner.release(id);
  }

  async close(): Promise<void> {}
}

/** Writer schemas a planning thread was sent, compiled there (decoders cannot cross threads). */
export class ForwardedSchemas implements WriterSchemaLookup {
  private readonly decoders = new Map<number, AvroBodyDecoder | string>();

  learn(schemaId: number, definition: SchemaDefinition): void {
    this.decoders.set(schemaId, 'unusable' in definition ? definition.unusable : compileWriterSchema(schemaId, definition.schema));
  }

  forgetAll(): void {
    this.decoders.clear();
  }

  get(schemaId: number): AvroBodyDecoder | string | undefined {
    return this.decoders.get(schemaId);
  }
}
