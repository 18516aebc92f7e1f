import { decodeJoinRecord, inJoinSample, PerformanceSummary } from '../../aggregate/index.ts';
import { decodeValue, validateLabel } from '../../decode/index.ts';
import type { ErrorCode } from '../../errors.ts';
import type { LabelEvent } from '../../events.ts';
import type { DeadLetter } from '../../sinks/dead-letter.ts';
import { isJoinedMark, type JoinHit, type LabelWrite } from '../../state/index.ts';
import { deadLetterOf, MAX_WATERMARK_CONFLICTS, PartitionWatermarks, resolveSchemas, storedWatermark, type BatchDeps, type PartitionBatch } from './batch-common.ts';
import type { BatchOutcome } from './prediction-batches.ts';

/**
 * What became of a label. joined: scored against its prediction, once. duplicate: its prediction was
 * labeled already. pending: it came before its prediction and waits (counted when it starts waiting; it
 * is counted again when it resolves). unknown: no prediction came within `wait_for_prediction`.
 * expired: observed longer than `label_join_ttl` ago, so its prediction's join record is gone for sure.
 * not_sampled: its prediction is outside the join sample (a hash of the id; nothing was kept).
 */
export const LABEL_OUTCOMES = ['joined', 'duplicate', 'pending', 'unknown', 'expired', 'not_sampled'] as const;
export type LabelOutcome = (typeof LABEL_OUTCOMES)[number];

export interface LabelJoinOptions {
  sampleRate: number;
  /** Join records live this long (state.label_join_ttl). */
  ttlMs: number;
  /** A label waits this long for its prediction before it counts as unknown. */
  waitMs: number;
  maxClasses: number;
  /** Fine bucket width: performance is kept per prediction-time bucket. */
  bucketMs: number;
}

export interface LabelProcessorDeps extends BatchDeps {
  join: LabelJoinOptions;
  workerId: string;
}

/** A label to resolve: fresh from a batch, or waiting in {p}:pending (member and arrival time). */
interface LabelItem {
  event: LabelEvent;
  pending?: { member: string; arrivedAt: number };
  /** Where it came from, so that identical labels stay distinct members while they wait. */
  source: string;
}

/** Waiting labels retried per round; the rest wait for the next one. */
const RETRY_PAGE = 5000;

/**
 * Label batches → decode → validate → join with the predictions' records → one atomic write of the
 * performance deltas, outcome counts, join marks and waiting labels with the partition's watermark
 * (apply-batch.lua), the same exactly-once discipline as prediction batches. Each write is also
 * checked: a join record it marks must still be unlabeled and a waiting label it resolves must still
 * wait, or it writes nothing and is planned again from fresh reads, so concurrent writers (a retry
 * round, a duplicate label on another partition) never count a label twice.
 */
export class LabelBatchProcessor {
  private readonly watermarks: PartitionWatermarks;

  constructor(private readonly deps: LabelProcessorDeps) {
    this.watermarks = new PartitionWatermarks(deps.store);
  }

  forgetPartitions(): void {
    this.watermarks.clear();
  }

  async process(batch: PartitionBatch): Promise<BatchOutcome> {
    const last = batch.messages.at(-1);
    if (!last) return { lastOffset: undefined, accepted: 0, deadLettered: 0, skipped: 0 };
    const { metrics, schemas, limits } = this.deps;
    const partitionKey = `${batch.topic}/${batch.partition}`;

    for (let attempt = 1; ; attempt++) {
      const watermark = await this.watermarks.get(batch.topic, batch.partition);
      const fresh = batch.messages.filter((message) => BigInt(message.offset) > watermark);
      const skipped = batch.messages.length - fresh.length;
      if (fresh.length === 0) {
        metrics.duplicatesSkipped.inc(skipped);
        return { lastOffset: last.offset, accepted: 0, deadLettered: 0, skipped };
      }

      await resolveSchemas(fresh, schemas);
      const now = this.deps.clock();
      const items: LabelItem[] = [];
      const letters: DeadLetter[] = [];
      for (const message of fresh) {
        const decoded = decodeValue(message.value, limits.maxMessageBytes, schemas);
        const validated = decoded.ok ? validateLabel(decoded.record, now, limits) : decoded;
        if (validated.ok) items.push({ event: validated.event, source: `${batch.topic}/${batch.partition}/${message.offset}` });
        else letters.push(deadLetterOf(batch, message, validated));
      }
      await this.deps.deadLetters.send(letters, now);
      const deadLetters = new Map<ErrorCode, number>();
      for (const letter of letters) deadLetters.set(letter.code, (deadLetters.get(letter.code) ?? 0) + 1);

      const watermarkWrite = { topic: batch.topic, partition: batch.partition, expected: storedWatermark(watermark), next: last.offset };
      const result = await this.write(items, now, { watermark: watermarkWrite, deadLetters });
      if (result.applied === false) {
        this.watermarks.set(batch.topic, batch.partition, result.watermark);
        this.deps.logger.warn({ partition: partitionKey, watermark: result.watermark, attempt }, 'watermark moved under this label batch; starting over');
        if (attempt >= MAX_WATERMARK_CONFLICTS) throw new Error(`watermark of ${partitionKey} keeps moving; giving the batch back`);
        continue;
      }

      this.watermarks.set(batch.topic, batch.partition, last.offset);
      metrics.duplicatesSkipped.inc(skipped);
      metrics.batchEvents.observe(fresh.length);
      metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1));
      for (const [code, count] of deadLetters) metrics.deadLetters.inc({ reason: code }, count);
      return { lastOffset: last.offset, accepted: items.length, deadLettered: letters.length, skipped };
    }
  }

  /**
   * One round over the waiting labels (oldest first): those whose prediction arrived are joined, those
   * that waited `wait_for_prediction` in vain count as unknown. One worker at a time (a lease).
   */
  async retryPending(leaseMs: number): Promise<{ resolved: number; waiting: number }> {
    const { store, workerId, metrics } = this.deps;
    if (!(await store.claimLabelRetry(workerId, leaseMs))) return { resolved: 0, waiting: -1 };
    const entries = await store.pendingLabels(RETRY_PAGE);
    let resolved = 0;
    if (entries.length > 0) {
      const items: LabelItem[] = entries.map(([member, arrivedAt]) => {
        const parsed = JSON.parse(member) as { id: string; label: number | string; observed_at: number; src: string };
        return { event: { prediction_id: parsed.id, label: parsed.label, observed_at: parsed.observed_at }, pending: { member, arrivedAt }, source: parsed.src };
      });
      const result = await this.write(items, this.deps.clock(), {});
      if (result.applied) resolved = result.resolved;
    }
    const waiting = await store.pendingLabelCount();
    metrics.labelsPending.set(waiting);
    return { resolved, waiting };
  }

  /**
   * Plans and applies one write for these labels, planning again from fresh reads when a check fails.
   * Returns the watermark found when the batch's watermark moved (the caller starts over).
   */
  private async write(
    items: readonly LabelItem[],
    now: number,
    extra: Pick<LabelWrite, 'watermark' | 'deadLetters'>,
  ): Promise<{ applied: true; resolved: number } | { applied: false; watermark: string }> {
    for (let attempt = 1; ; attempt++) {
      const plan = await this.plan(items, now);
      const result = await this.deps.store.applyLabels({ ...plan.write, ...extra });
      if (result.applied) {
        for (const [outcome, n] of plan.write.outcomes) if (n > 0) this.deps.metrics.labels.inc({ outcome }, n);
        this.deps.store.scheduleCompaction(result.longLists, (key, error) => this.deps.logger.warn({ key, err: error }, 'bucket compaction failed; will retry later'));
        return { applied: true, resolved: plan.write.pendingResolved.length };
      }
      if (result.reason === 'watermark') return { applied: false, watermark: result.watermark };
      // Another writer joined one of these predictions or resolved one of these waiting labels.
      if (attempt >= MAX_WATERMARK_CONFLICTS) throw new Error('label writes keep conflicting; giving the batch back');
    }
  }

  /** Decides every label's outcome from the join records as they are now, and the write that records it. */
  private async plan(items: readonly LabelItem[], now: number): Promise<{ write: LabelWrite }> {
    const { store, join } = this.deps;
    const sampled = items.filter((item) => inJoinSample(item.event.prediction_id, join.sampleRate));
    const ids = [...new Set(sampled.map((item) => item.event.prediction_id))];
    const records = new Map<string, JoinHit | null>();
    const read = await store.joinRecords(ids, now);
    ids.forEach((id, i) => records.set(id, read[i] ?? null));

    const outcomes = new Map<LabelOutcome, number>(LABEL_OUTCOMES.map((outcome) => [outcome, 0]));
    const count = (outcome: LabelOutcome) => outcomes.set(outcome, outcomes.get(outcome)! + 1);
    const deltas = new Map<string, { model: string; bucketStart: number; summary: PerformanceSummary }>();
    const labeled = new Map<string, number>();
    const joined = new Map<string, string>();
    const pendingAdded: { member: string; score: number }[] = [];
    const pendingResolved: string[] = [];

    for (const item of items) {
      const { event, pending } = item;
      const id = event.prediction_id;
      if (!inJoinSample(id, join.sampleRate)) {
        count('not_sampled');
        if (pending) pendingResolved.push(pending.member);
        continue;
      }
      const hit = records.get(id) ?? null;
      if (joined.has(id) || (hit && isJoinedMark(hit.record))) {
        count('duplicate');
        if (pending) pendingResolved.push(pending.member);
        continue;
      }
      if (hit) {
        const prediction = decodeJoinRecord(hit.record);
        const bucketStart = prediction.sentAt - (prediction.sentAt % join.bucketMs);
        const key = `${prediction.model}\u0000${bucketStart}`;
        let delta = deltas.get(key);
        if (!delta) {
          delta = { model: prediction.model, bucketStart, summary: new PerformanceSummary() };
          deltas.set(key, delta);
        }
        delta.summary.add({ prediction: prediction.prediction, scores: prediction.scores, label: event.label, delayMs: event.observed_at - prediction.sentAt }, join.maxClasses);
        labeled.set(prediction.model, (labeled.get(prediction.model) ?? 0) + 1);
        joined.set(id, hit.slotKey);
        count('joined');
        if (pending) pendingResolved.push(pending.member);
        continue;
      }
      if (pending) {
        // Still no prediction: give up after the wait, else leave it waiting.
        if (now - pending.arrivedAt >= join.waitMs) {
          count('unknown');
          pendingResolved.push(pending.member);
        }
        continue;
      }
      // A prediction precedes its outcome: a label observed longer than the TTL ago has no record left.
      if (event.observed_at < now - join.ttlMs) {
        count('expired');
        continue;
      }
      count('pending');
      pendingAdded.push({ member: JSON.stringify({ id, label: event.label, observed_at: event.observed_at, src: item.source }), score: now });
    }
    return {
      write: { deltas: [...deltas.values()], labeled, outcomes, joined: [...joined].map(([predictionId, slotKey]) => ({ predictionId, slotKey })), pendingAdded, pendingResolved },
    };
  }
}

/** Whether a topic is one of a selection's (its list, or its pattern). */
export function topicSelected(selection: { topics?: string[] | undefined; pattern?: string | undefined }, topic: string): boolean {
  return selection.pattern !== undefined ? new RegExp(selection.pattern).test(topic) : (selection.topics ?? []).includes(topic);
}
