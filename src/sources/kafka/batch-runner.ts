import { setTimeout as sleep } from 'node:timers/promises';
import type { KafkaMessage } from 'kafkajs';
import { decodeValue, unresolvedSchemaIds, type Rejection, type Validated, type ValidationLimits } from '../../decode/index.ts';
import { errorMessage, type ErrorCode } from '../../errors.ts';
import type { DeadLetter, DeadLetterSink } from '../../sinks/dead-letter.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';
import type { SchemaRegistryCache } from '../schema-registry.ts';
import type { IngestHealth } from './ingest-health.ts';

/** A partition's batch as kafkajs hands it over. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: readonly KafkaMessage[];
  highWatermark: string;
  /** The offset the fetch asked for: the batch covers the partition from here (absent: from its first message). */
  fetchedOffset?: string;
  /** The last offset the batch covers, control records included (kafkajs lastOffset()): the next fetch starts after it. */
  lastOffset?: string;
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
  /** The partition's watermark the write was planned against: it applies only if the state still holds exactly it. */
  expected?: number;
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
  /** Failed batches are reported here (one log line per change) while they are retried. */
  health: IngestHealth;
  recovery: RecoveryHooks;
}

/** What a regressed partition state needs from outside the runner (src/sources/kafka/state-recovery.ts). */
export interface RecoveryHooks {
  /** Whether the group had committed an offset for the partition when this worker got it (then its state existed). */
  hadCommit(topic: string, partition: number): Promise<boolean>;
  /**
   * The partition's state is behind what was processed (`through`): counts it, marks the worker not
   * ready, seeks the consumer and returns the offset it replays from (`stored` + 1, or the start of
   * the retained windows when nothing is stored).
   */
  regressed(topic: string, partition: number, regression: { kind: 'behind' | 'missing'; stored: number; through: number }): Promise<number>;
  /** The partition's state is written up to `offset` (a replay ends when it reaches its `through`). */
  applied(topic: string, partition: number, offset: number): void;
}

export interface ProcessOptions {
  /** False once the batch is not ours to finish any more (the consumer stops, the partition moved or was sought). */
  alive(): boolean;
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
/** Backoff between tries of a failed batch: doubling from 200 ms up to 10 s (jittered). */
const RETRY_MS = { first: 200, max: 10_000 };

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
  /** Per partition: every dead letter at or below this offset is on the DLQ (sent by this worker, or before a commit). */
  private readonly deadLettersSent = new Map<string, number>();
  /** Per partition being replayed: messages up to this offset were processed once already (their clock is their timestamp). */
  private readonly replays = new Map<string, number>();
  /** Per partition with no state before it: a batch fetched from this offset starts the state (a new partition, or a rebuild). */
  private readonly startsAt = new Map<string, number>();

  constructor(private readonly deps: RunnerDeps) {}

  /** Forget cached watermarks of partitions this worker no longer owns (they move under others). */
  forgetPartitions(): void {
    this.watermarks.clear();
    this.replays.clear();
    this.startsAt.clear();
  }

  /**
   * kafkajs resolved and committed a batch that had no message for us (transaction markers, aborted
   * records): the next fetch starts after it although the state's watermark did not move. Not a hole.
   */
  coveredWithoutMessages(topic: string, partition: number, lastOffset: number): void {
    this.startsAt.set(`${topic}/${partition}`, lastOffset + 1);
  }

  /**
   * The partition's state is behind what was processed through `through` (Redis lost writes): replay
   * it. Messages up to `through` were processed once, so their dead letters are on the DLQ already (not
   * sent again, only counted) and their validation clock is their own timestamp (as when they were
   * first processed, near enough). The batch in hand is given back unresolved: the consumer was sought.
   */
  private async regress(batch: PartitionBatch, kind: 'behind' | 'missing', stored: number, through: number): Promise<BatchOutcome> {
    const name = `${batch.topic}/${batch.partition}`;
    const from = await this.deps.recovery.regressed(batch.topic, batch.partition, { kind, stored, through });
    this.watermarks.delete(name);
    this.replays.set(name, through);
    this.deadLettersSent.set(name, Math.max(this.deadLettersSent.get(name) ?? -1, through));
    if (stored < 0) this.startsAt.set(name, from);
    else this.startsAt.delete(name);
    return { lastOffset: undefined, accepted: 0, deadLettered: 0, skipped: 0 };
  }

  /**
   * Processes a batch until it is in (or no longer ours): a failed try — Redis out of memory, paused,
   * gone; the DLQ topic unreachable; the registry down — is reported and tried again after a backoff,
   * without sending its dead letters twice. Never gives up on its own: a monitor must not skip data.
   */
  async process<T, P, W>(source: BatchSource<T, P, W>, batch: PartitionBatch, options: ProcessOptions = { alive: () => true }): Promise<BatchOutcome> {
    const name = `${batch.topic}/${batch.partition}`;
    for (let failures = 1; ; failures++) {
      try {
        const outcome = await this.attempt(source, batch);
        this.deps.health.succeeded(name);
        return outcome;
      } catch (error) {
        if (options.alive()) {
          this.deps.health.failed(name, error);
          const delay = Math.min(RETRY_MS.max, RETRY_MS.first * 2 ** Math.min(failures - 1, 10)) * (0.5 + Math.random() / 2);
          for (let waited = 0; waited < delay && options.alive(); waited += 250) await sleep(Math.min(250, delay - waited));
        }
        if (!options.alive()) {
          // Not ours any more: given back unresolved (the next owner, or the sought position, takes it from here).
          this.deps.health.succeeded(name);
          return { lastOffset: undefined, accepted: 0, deadLettered: 0, skipped: 0 };
        }
      }
    }
  }

  private async attempt<T, P, W>(source: BatchSource<T, P, W>, batch: PartitionBatch): Promise<BatchOutcome> {
    const last = batch.messages.at(-1);
    if (!last) return { lastOffset: undefined, accepted: 0, deadLettered: 0, skipped: 0 };
    const { metrics, schemas } = this.deps;
    const name = `${batch.topic}/${batch.partition}`;
    // Through the last offset the batch covers, control records included: the next fetch starts after it.
    const covered = Math.max(Number(last.offset), Number(batch.lastOffset ?? last.offset));
    for (let attempt = 1; ; attempt++) {
      const watermark = this.watermarks.get(name) ?? (await this.deps.readWatermark(batch.topic, batch.partition));
      // A batch fetched from past the state's watermark: the offsets between were processed (committed)
      // but their state is gone. Unless nothing was ever stored here (a new partition).
      const fetched = batch.fetchedOffset === undefined ? undefined : Number(batch.fetchedOffset);
      if (fetched !== undefined && fetched > watermark + 1 && fetched !== this.startsAt.get(name)) {
        if (watermark >= 0) return this.regress(batch, 'behind', watermark, fetched - 1);
        if (await this.deps.recovery.hadCommit(batch.topic, batch.partition)) return this.regress(batch, 'missing', watermark, fetched - 1);
        this.startsAt.set(name, fetched);
      }
      const fresh = batch.messages.filter((message) => Number(message.offset) > watermark);
      const skipped = batch.messages.length - fresh.length;
      if (fresh.length === 0) {
        metrics.duplicatesSkipped.inc(skipped);
        this.deps.recovery.applied(batch.topic, batch.partition, watermark);
        return { lastOffset: last.offset, accepted: 0, deadLettered: 0, skipped };
      }

      const missing = unresolvedSchemaIds(fresh.map((message) => message.value), schemas);
      if (missing.size > 0) await schemas.resolve(missing);
      const now = this.deps.clock();
      const replayedThrough = this.replays.get(name) ?? -1;
      const items: Positioned<T>[] = [];
      const letters: DeadLetter[] = [];
      for (const message of fresh) {
        const offset = Number(message.offset);
        // A replayed message is judged as when it was first processed: by its own timestamp, not by now.
        const at = offset <= replayedThrough ? Math.min(now, Number(message.timestamp) || now) : now;
        const validated = this.validate(source, message, at, `${name}/${message.offset}`);
        if (validated.ok) items.push({ offset, event: validated.event });
        else letters.push(deadLetterOf(batch, message, validated));
      }
      // Sent already: by an earlier try of this batch (its state write failed) or before the commit of a replayed range.
      const sentThrough = this.deadLettersSent.get(name) ?? -1;
      const unsent = letters.filter((letter) => Number(letter.offset) > sentThrough);
      await this.deps.deadLetters.send(unsent, now);
      this.deadLettersSent.set(name, Math.max(sentThrough, covered));
      const deadLetters = new Map<ErrorCode, number>();
      for (const letter of letters) deadLetters.set(letter.code, (deadLetters.get(letter.code) ?? 0) + 1);

      const context: WriteContext = { topic: batch.topic, partition: batch.partition, range: { first: Number(fresh[0]!.offset), last: covered }, expected: watermark, deadLetters, now };
      const stopTimer = metrics.flushDuration.startTimer();
      const result = await applyWrite(source, items, context);
      stopTimer();
      if (result.kind === 'watermark') {
        // Lower than what this worker knows it wrote: Redis lost writes (restarted from an older file, or empty).
        if (result.watermark < watermark) return this.regress(batch, result.watermark < 0 ? 'missing' : 'behind', result.watermark, watermark);
        this.watermarks.set(name, result.watermark);
        this.deps.logger.warn({ partition: name, watermark: result.watermark, attempt, source: source.name }, 'watermark moved under this batch; starting over from it');
        if (attempt >= MAX_ATTEMPTS) throw new Error(`watermark of ${name} keeps moving; giving the batch back`);
        continue;
      }

      this.watermarks.set(name, covered);
      if (covered >= replayedThrough) this.replays.delete(name);
      this.deps.recovery.applied(batch.topic, batch.partition, covered);
      metrics.duplicatesSkipped.inc(skipped);
      metrics.batchEvents.observe(fresh.length);
      for (const letter of unsent) metrics.deadLetters.inc({ reason: letter.code });
      return { lastOffset: last.offset, accepted: items.length, deadLettered: letters.length, skipped };
    }
  }

  /** Decode and validate one message; a bug there dead-letters the message (DW_ERR_INTERNAL) instead of stalling the partition. */
  private validate<T, P, W>(source: BatchSource<T, P, W>, message: KafkaMessage, now: number, position: string): Validated<T> | Rejection {
    try {
      const decoded = decodeValue(message.value, this.deps.limits.maxMessageBytes, this.deps.schemas);
      return decoded.ok ? source.validate(decoded.record, now, position) : decoded;
    } catch (error) {
      this.deps.logger.error({ message: position, err: errorMessage(error) }, 'decoding or validating a message threw (a bug); dead-lettering it');
      return { ok: false, code: 'DW_ERR_INTERNAL', reason: `driftwatch could not process this message: ${errorMessage(error)}` };
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
