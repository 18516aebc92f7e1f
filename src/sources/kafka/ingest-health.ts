import { DriftwatchError, errorMessage } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';

/** Why a batch failed, as an operator acts on it (and a bounded metric label). */
export type FailureReason = 'redis_out_of_memory' | 'redis_timeout' | 'redis_unavailable' | 'redis_error' | 'kafka' | 'registry' | 'other';

export function failureReason(error: unknown): FailureReason {
  const message = errorMessage(error);
  if (error instanceof DriftwatchError && error.code === 'DW_ERR_REGISTRY') return 'registry';
  if (/^OOM |used memory > 'maxmemory'/.test(message)) return 'redis_out_of_memory';
  if (/Command timed out/.test(message)) return 'redis_timeout';
  if (/Connection is closed|ECONNREFUSED|ECONNRESET|Stream isn't writeable|max retries per request|CLUSTERDOWN|LOADING/i.test(message)) return 'redis_unavailable';
  if (error instanceof Error && error.name.startsWith('ReplyError')) return 'redis_error';
  if (error instanceof Error && error.name.startsWith('KafkaJS')) return 'kafka';
  return 'other';
}

/**
 * Batches that fail and are retried, reported once per change, not once per retry: a line when the
 * first partition stalls (or the reason changes), one when the last recovers, with how long it took;
 * `driftwatch_ingest_failures_total{reason}` counts every failed try and
 * `driftwatch_ingest_stalled_partitions` says how many partitions are retrying now.
 */
export class IngestHealth {
  private readonly stalled = new Map<string, FailureReason>();
  private since: number | undefined;
  private reason: FailureReason | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly metrics: Pick<IngestMetrics, 'failures' | 'stalledPartitions'>,
    private readonly clock: () => number = Date.now,
  ) {}

  failed(partition: string, error: unknown): void {
    const reason = failureReason(error);
    this.metrics.failures.inc({ reason });
    this.stalled.set(partition, reason);
    this.metrics.stalledPartitions.set(this.stalled.size);
    if (this.reason === reason) return;
    this.since ??= this.clock();
    this.reason = reason;
    this.logger.warn({ reason, partition, err: errorMessage(error) }, `ingest stalled (${reason}): batches are retried with backoff; nothing is skipped or dead-lettered twice`);
  }

  succeeded(partition: string): void {
    if (!this.stalled.delete(partition)) return;
    this.metrics.stalledPartitions.set(this.stalled.size);
    if (this.stalled.size > 0 || this.since === undefined) return;
    this.logger.info({ reason: this.reason, stalled_ms: this.clock() - this.since }, `ingest recovered after ${((this.clock() - this.since) / 1000).toFixed(1)} s (${this.reason})`);
    this.since = undefined;
    this.reason = undefined;
  }

  /** Whether some partition is retrying now. */
  get stalledNow(): boolean {
    return this.stalled.size > 0;
  }
}
