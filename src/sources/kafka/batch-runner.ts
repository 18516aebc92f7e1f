import type { KafkaMessage } from 'kafkajs';
import { decodeValue, unresolvedSchemaIds, type Rejection, type Validated, type ValidationLimits } from '../../decode/index.ts';
import type { ErrorCode } from '../../errors.ts';
import type { DeadLetter, DeadLetterSink } from '../../sinks/dead-letter.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';
import type { SchemaRegistryCache } from '../schema-registry.ts';

/** A partition's batch as kafkajs hands it over. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: readonly KafkaMessage[];
  highWatermark: string;
}

/** A valid event and the offset of its message. */
export interface Positioned<T> {
  offset: number;
  event: T;
}

export interface WriteContext {
  topic: string;
  partition: number;
  /** The offsets the write covers (first and last fresh message); absent for a write no offset covers. */
  range?: { first: number; last: number };
  deadLetters: ReadonlyMap<ErrorCode, number>;
  now: number;
}

/** What applying a planned write found: in; the partition's offsets in already; or plan again (from fresh reads). */
export type ApplyResult = { kind: 'applied' } | { kind: 'watermark'; watermark: number } | { kind: 'replan'; floors?: ReadonlyMap<string, number>; reprepare: boolean };

/**
 * A source of one kind of message (predictions, labels): how to validate one, what to read before
 * planning (claims, for labels), the plan itself — pure: fresh items in, a write out — and how the
 * write is applied.
 */
export interface BatchSource<T, Prepared, Write> {
  readonly name: string;
  /** Validates a decoded record; `source` is its message's topic/partition/offset. */
  validate(record: unknown, now: number, source: string): Validated<T>;
  prepare(items: readonly Positioned<T>[], context: WriteContext): Promise<Prepared>;
  plan(items: readonly Positioned<T>[], prepared: Prepared, context: WriteContext, floors: ReadonlyMap<string, number>): Write;
  apply(write: Write, context: WriteContext): Promise<ApplyResult>;
  /** The write is in: per-source metrics. */
  applied(write: Write): void;
}

export interface RunnerDeps {
  schemas: SchemaRegistryCache;
  deadLetters: DeadLetterSink;
  metrics: IngestMetrics;
  logger: Logger;
  limits: ValidationLimits & { maxMessageBytes: number };
  clock: () => number;
  /** The last offset in state of a partition (-1: none). */
  readWatermark(topic: string, partition: number): Promise<number>;
}

export interface BatchOutcome {
  /** The offset to commit after: every message up to it is in state or on the DLQ. */
  lastOffset: string | undefined;
  accepted: number;
  deadLettered: number;
  skipped: number;
}

/** How many times a batch starts over when another writer moved its watermark meanwhile. */
const MAX_ATTEMPTS = 5;

/**
 * The exactly-once loop every source shares: read the partition's watermark (once, then kept from
 * this worker's writes) → drop the messages at or below it (a redelivery after a crash or rebalance)
 * → decode and validate → send the rejected to the dead-letter topic (before the state write: a crash
 * between repeats a dead letter, never loses one) → prepare, plan and apply the write, planning again
 * when a check of the write fails → the caller commits the offsets. A write whose watermark moved under
 * it (a zombie, or the previous owner's last write) starts over from the new watermark.
 */
export class BatchRunner {
  private readonly watermarks = new Map<string, number>();

  constructor(private readonly deps: RunnerDeps) {}

  /** Forget cached watermarks of partitions this worker no longer owns (they move under others). */
  forgetPartitions(): void {
    this.watermarks.clear();
  }

  async process<T, P, W>(source: BatchSource<T, P, W>, batch: PartitionBatch): Promise<BatchOutcome> {
    const last = batch.messages.at(-1);
    if (!last) return { lastOffset: undefined, accepted: 0, deadLettered: 0, skipped: 0 };
    const { metrics, limits, schemas } = this.deps;
    const name = `${batch.topic}/${batch.partition}`;
    for (let attempt = 1; ; attempt++) {
      const watermark = this.watermarks.get(name) ?? (await this.deps.readWatermark(batch.topic, batch.partition));
      const fresh = batch.messages.filter((message) => Number(message.offset) > watermark);
      const skipped = batch.messages.length - fresh.length;
      if (fresh.length === 0) {
        metrics.duplicatesSkipped.inc(skipped);
        return { lastOffset: last.offset, accepted: 0, deadLettered: 0, skipped };
      }

      const missing = unresolvedSchemaIds(fresh.map((message) => message.value), schemas);
      if (missing.size > 0) await schemas.resolve(missing);
      const now = this.deps.clock();
      const items: Positioned<T>[] = [];
      const letters: DeadLetter[] = [];
      for (const message of fresh) {
        const decoded = decodeValue(message.value, limits.maxMessageBytes, schemas);
        const validated = decoded.ok ? source.validate(decoded.record, now, `${name}/${message.offset}`) : decoded;
        if (validated.ok) items.push({ offset: Number(message.offset), event: validated.event });
        else letters.push(deadLetterOf(batch, message, validated));
      }
      await this.deps.deadLetters.send(letters, now);
      const deadLetters = new Map<ErrorCode, number>();
      for (const letter of letters) deadLetters.set(letter.code, (deadLetters.get(letter.code) ?? 0) + 1);

      const context: WriteContext = { topic: batch.topic, partition: batch.partition, range: { first: Number(fresh[0]!.offset), last: Number(last.offset) }, deadLetters, now };
      const stopTimer = metrics.flushDuration.startTimer();
      const result = await applyWrite(source, items, context);
      stopTimer();
      if (result.kind === 'watermark') {
        this.watermarks.set(name, result.watermark);
        this.deps.logger.warn({ partition: name, watermark: result.watermark, attempt, source: source.name }, 'watermark moved under this batch; starting over from it');
        if (attempt >= MAX_ATTEMPTS) throw new Error(`watermark of ${name} keeps moving; giving the batch back`);
        continue;
      }

      this.watermarks.set(name, Number(last.offset));
      metrics.duplicatesSkipped.inc(skipped);
      metrics.batchEvents.observe(fresh.length);
      metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1));
      for (const [code, count] of deadLetters) metrics.deadLetters.inc({ reason: code }, count);
      return { lastOffset: last.offset, accepted: items.length, deadLettered: letters.length, skipped };
    }
  }
}

/** Prepare → plan → apply until the write is in, planning again (from fresh reads when asked) on a failed check. */
export async function applyWrite<T, P, W>(source: BatchSource<T, P, W>, items: readonly Positioned<T>[], context: WriteContext): Promise<{ kind: 'applied' } | { kind: 'watermark'; watermark: number }> {
  let prepared = await source.prepare(items, context);
  let floors: ReadonlyMap<string, number> = new Map();
  for (let attempt = 1; ; attempt++) {
    const write = source.plan(items, prepared, context, floors);
    const result = await source.apply(write, context);
    if (result.kind !== 'replan') {
      if (result.kind === 'applied') source.applied(write);
      return result;
    }
    if (attempt >= MAX_ATTEMPTS) throw new Error(`${source.name} write of ${context.topic}/${context.partition} keeps conflicting; giving the batch back`);
    if (result.floors) floors = new Map([...floors, ...result.floors]);
    if (result.reprepare) prepared = await source.prepare(items, context);
  }
}

/** A rejected message as it goes to the dead-letter topic: original bytes and headers, and why. */
function deadLetterOf(batch: PartitionBatch, message: KafkaMessage, rejection: Rejection): DeadLetter {
  return {
    key: message.key,
    value: message.value,
    headers: message.headers,
    code: rejection.code,
    reason: rejection.reason,
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
  };
}
