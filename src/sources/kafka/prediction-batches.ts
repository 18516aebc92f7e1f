import type { KafkaMessage } from 'kafkajs';
import { Admission, Aggregator, encodeJoinRecord, inJoinSample, type AggregatorOptions } from '../../aggregate/index.ts';
import { decodeValue, validatePrediction } from '../../decode/index.ts';
import type { ErrorCode } from '../../errors.ts';
import type { DeadLetter } from '../../sinks/dead-letter.ts';
import { ByteWriter } from '../../sketch/index.ts';
import type { BulkHistogramChild } from '../../telemetry/bulk-histogram.ts';
import { modelKey, type JoinEntry } from '../../state/index.ts';
import { deadLetterOf, MAX_WATERMARK_CONFLICTS, PartitionWatermarks, resolveSchemas, storedWatermark, type BatchDeps, type PartitionBatch } from './batch-common.ts';

export type { PartitionBatch } from './batch-common.ts';


export interface BatchProcessorDeps extends BatchDeps {
  aggregation: AggregatorOptions;
  /** Keep join records for labels (topology `labels`); absent = labels are off. */
  join?: { sampleRate: number };
}

export interface BatchOutcome {
  /** The offset to commit after: every message up to it is in Redis state or on the DLQ. */
  lastOffset: string | undefined;
  accepted: number;
  deadLettered: number;
  skipped: number;
}

/**
 * One partition batch of prediction logs → decode → validate → aggregate → one atomic state write.
 * Messages at or below the partition's watermark are already in state (a redelivery after a crash or
 * rebalance) and are skipped; the write itself is a compare-and-set on that watermark.
 */
export class PredictionBatchProcessor {
  private readonly watermarks: PartitionWatermarks;
  private readonly admission: Admission;
  /** Serving-latency histogram children by predictor, then model: no key string per event. */
  private readonly latencyChildren = new Map<string, Map<string, BulkHistogramChild>>();

  constructor(private readonly deps: BatchProcessorDeps) {
    this.admission = new Admission(deps.aggregation.maxModels, deps.aggregation.maxFeaturesPerModel);
    this.watermarks = new PartitionWatermarks(deps.store);
  }

  /** Forget cached watermarks of partitions this worker no longer owns (they move under others). */
  forgetPartitions(): void {
    this.watermarks.clear();
  }

  async process(batch: PartitionBatch): Promise<BatchOutcome> {
    const last = batch.messages.at(-1);
    if (!last) return { lastOffset: undefined, accepted: 0, deadLettered: 0, skipped: 0 };
    const partitionKey = `${batch.topic}/${batch.partition}`;
    const { store, metrics } = this.deps;

    for (let attempt = 1; ; attempt++) {
      const watermark = await this.watermarks.get(batch.topic, batch.partition);
      const fresh = batch.messages.filter((message) => BigInt(message.offset) > watermark);
      const skipped = batch.messages.length - fresh.length;
      if (fresh.length === 0) {
        metrics.duplicatesSkipped.inc(skipped);
        return { lastOffset: last.offset, accepted: 0, deadLettered: 0, skipped };
      }

      const { aggregator, letters, accepted, latencies, joins } = await this.aggregate(batch, fresh);
      await this.deps.deadLetters.send(letters, this.deps.clock());

      const drained = aggregator.drain();
      const deadLetterCounts = new Map<ErrorCode, number>();
      for (const letter of letters) deadLetterCounts.set(letter.code, (deadLetterCounts.get(letter.code) ?? 0) + 1);
      const stopTimer = metrics.flushDuration.startTimer();
      const result = await store.applyBatch({
        topic: batch.topic,
        partition: batch.partition,
        expectedWatermark: storedWatermark(watermark),
        newWatermark: last.offset,
        deltas: drained.deltas,
        deadLetters: deadLetterCounts,
        overflowModelEvents: drained.overflowModelEvents,
        joins,
      });
      stopTimer();

      if (!result.applied) {
        // Someone else (a zombie, or the previous owner's last write) moved the watermark: start over.
        this.watermarks.set(batch.topic, batch.partition, result.watermark);
        this.deps.logger.warn({ partition: partitionKey, watermark: result.watermark, attempt }, 'watermark moved under this batch; re-aggregating');
        if (attempt >= MAX_WATERMARK_CONFLICTS) throw new Error(`watermark of ${partitionKey} keeps moving; giving the batch back`);
        continue;
      }

      this.watermarks.set(batch.topic, batch.partition, last.offset);
      metrics.duplicatesSkipped.inc(skipped);
      metrics.batchEvents.observe(fresh.length);
      metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1));
      if (drained.overflowModelEvents > 0) metrics.overflow.inc({ kind: 'model_events' }, drained.overflowModelEvents);
      if (result.refusedFeatures > 0) metrics.overflow.inc({ kind: 'features' }, result.refusedFeatures);
      for (const [code, count] of deadLetterCounts) metrics.deadLetters.inc({ reason: code }, count);
      for (const delta of drained.deltas) {
        const labels = { predictor: delta.predictor, model: delta.model };
        metrics.events.inc({ ...labels, outcome: 'accepted' }, delta.summary.count - delta.summary.errors);
        if (delta.summary.errors > 0) metrics.events.inc({ ...labels, outcome: 'failed' }, delta.summary.errors);
      }
      // Observed once the batch is in: a batch written again after a conflict is not observed twice.
      for (let i = 0; i < latencies.children.length; i++) latencies.children[i]!.observe(latencies.ms[i]! / 1000);
      store.scheduleCompaction(result.longLists, (key, error) => this.deps.logger.warn({ key, err: error }, 'bucket compaction failed; will retry later'));
      return { lastOffset: last.offset, accepted, deadLettered: letters.length, skipped };
    }
  }

  private async aggregate(batch: PartitionBatch, messages: readonly KafkaMessage[]) {
    const { schemas, limits, clock, join } = this.deps;
    await resolveSchemas(messages, schemas);

    const aggregator = new Aggregator(this.deps.aggregation, this.admission);
    const letters: DeadLetter[] = [];
    const now = clock();
    let accepted = 0;
    const latencies = { children: [] as BulkHistogramChild[], ms: [] as number[] };
    const joins: JoinEntry[] = [];
    const joinRecords = new ByteWriter(16_384);
    const modelKeys = new Map<string, string>();
    for (const message of messages) {
      const decoded = decodeValue(message.value, limits.maxMessageBytes, schemas);
      const validated = decoded.ok ? validatePrediction(decoded.record, now, limits) : decoded;
      if (validated.ok) {
        const { event } = validated;
        // Only admitted models get a latency series: metric labels stay bounded by the model cap.
        const admitted = aggregator.record(event);
        if (admitted && event.latency_ms !== null) {
          latencies.children.push(this.latencyChild(event.predictor_name, event.model_id));
          latencies.ms.push(event.latency_ms);
        }
        // Only a prediction a label can be scored against is kept for the join (docs/labels.md: memory).
        if (admitted && join && event.error === null && event.prediction !== null && inJoinSample(event.prediction_id, join.sampleRate)) {
          const identity = `${event.predictor_name}\u0000${event.model_id}`;
          let model = modelKeys.get(identity);
          if (model === undefined) modelKeys.set(identity, (model = modelKey(event.predictor_name, event.model_id)));
          joins.push({ predictionId: event.prediction_id, sentAt: event.sent_at, record: encodeJoinRecord({ model, sentAt: event.sent_at, prediction: event.prediction, scores: event.prediction_scores }, joinRecords) });
        }
        accepted++;
      } else {
        letters.push(deadLetterOf(batch, message, validated));
      }
    }
    return { aggregator, letters, accepted, latencies, joins };
  }

  private latencyChild(predictor: string, model: string): BulkHistogramChild {
    let models = this.latencyChildren.get(predictor);
    if (!models) this.latencyChildren.set(predictor, (models = new Map()));
    let child = models.get(model);
    if (!child) models.set(model, (child = this.deps.metrics.servingLatency.labels({ predictor, model })));
    return child;
  }
}
