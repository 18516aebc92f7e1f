/**
 * The Redis key layout, in one place. Every key of a topology shares the hash tag `{prefix}`, so one
 * Lua call may touch any of them on Redis Cluster too (they all live in one slot).
 *
 *   {p}:models                       HASH  modelKey → JSON {predictor, model, role, first_seen}
 *   {p}:features:<modelKey>          HASH  feature → "1": the monitored features (capped in Lua)
 *   {p}:totals:<modelKey>            HASH  n, err, f:<feature> — exact counts since monitoring began
 *   {p}:b:<res>:<modelKey>:<start>   LIST  encoded ModelSummary deltas of one bucket (TTL = keep)
 *   {p}:wm                           HASH  <topic>/<partition> → last offset applied (exactly once)
 *   {p}:dlq                          HASH  error code → dead-lettered events
 *   {p}:overflow                     HASH  models | features → events or values over the caps
 *   {p}:baseline:<modelKey>          STRING encoded ModelSummary of the training data
 *   {p}:lease:<modelKey>             STRING worker id holding the model's evaluation lease (PX TTL)
 *   {p}:workers                      ZSET  worker id → last heartbeat (ms)
 *   {p}:alerts:<modelKey>            HASH  rule|feature → JSON alert state (pending or firing)
 *   {p}:outbox                       LIST  alert events written with their state, not yet on Kafka
 *   {p}:published                    ZSET  id:state of alert events Kafka acknowledged → time
 *   {p}:join:<slot>:<shard>          HASH  prediction id → join record (model, sent_at, prediction, scores), "L" once
 *                                          labeled; per sent_at slot and id shard (expires with its slot: join-slots.ts)
 *   {p}:perf:<res>:<modelKey>:<start> LIST encoded PerformanceSummary deltas of one prediction-time bucket (TTL = keep)
 *   {p}:labels                       HASH  label outcome (joined, duplicate, pending, unknown, expired, not_sampled) → labels
 *   {p}:pending                      ZSET  labels waiting for their prediction (JSON) → arrival time (ms)
 */
export type Resolution = 'recent' | 'fine' | 'coarse';

/** Key parts are percent-encoded where they would break the layout (":", "/", "{", "}", "%"). */
export function escapeKeyPart(part: string): string {
  return part.replace(/[%:/{}\s]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

export function unescapeKeyPart(part: string): string {
  return decodeURIComponent(part);
}

export function modelKey(predictor: string, model: string): string {
  return `${escapeKeyPart(predictor)}/${escapeKeyPart(model)}`;
}

export class KeyLayout {
  readonly root: string;

  constructor(prefix: string) {
    this.root = `{${prefix}}`;
  }

  models(): string {
    return `${this.root}:models`;
  }
  features(model: string): string {
    return `${this.root}:features:${model}`;
  }
  totals(model: string): string {
    return `${this.root}:totals:${model}`;
  }
  bucket(resolution: Resolution, model: string, start: number): string {
    return `${this.root}:b:${resolution}:${model}:${start}`;
  }
  watermarks(): string {
    return `${this.root}:wm`;
  }
  deadLetters(): string {
    return `${this.root}:dlq`;
  }
  overflow(): string {
    return `${this.root}:overflow`;
  }
  baseline(model: string): string {
    return `${this.root}:baseline:${model}`;
  }
  lease(model: string): string {
    return `${this.root}:lease:${model}`;
  }
  workers(): string {
    return `${this.root}:workers`;
  }
  alerts(model: string): string {
    return `${this.root}:alerts:${model}`;
  }
  outbox(): string {
    return `${this.root}:outbox`;
  }
  published(): string {
    return `${this.root}:published`;
  }
  joinSlot(slot: number, shard: number): string {
    return `${this.root}:join:${slot}:${shard}`;
  }
  performanceBucket(resolution: Resolution, model: string, start: number): string {
    return `${this.root}:perf:${resolution}:${model}:${start}`;
  }
  labelOutcomes(): string {
    return `${this.root}:labels`;
  }
  pendingLabels(): string {
    return `${this.root}:pending`;
  }
}

export function watermarkField(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}
