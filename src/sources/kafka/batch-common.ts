import type { KafkaMessage } from 'kafkajs';
import { unresolvedSchemaIds, type Rejection, type ValidationLimits } from '../../decode/index.ts';
import type { DeadLetter, DeadLetterSink } from '../../sinks/dead-letter.ts';
import type { RedisStateStore } from '../../state/index.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';
import type { SchemaRegistryCache } from '../schema-registry.ts';

/** What both batch processors (predictions, labels) are built from. */
export interface BatchDeps {
  store: RedisStateStore;
  schemas: SchemaRegistryCache;
  deadLetters: DeadLetterSink;
  metrics: IngestMetrics;
  logger: Logger;
  limits: ValidationLimits & { maxMessageBytes: number };
  clock: () => number;
}

/** A partition's batch as both processors see it. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: readonly KafkaMessage[];
  highWatermark: string;
}

/** How many times a batch is re-aggregated when another writer moved the watermark meanwhile. */
export const MAX_WATERMARK_CONFLICTS = 5;

/**
 * This worker's view of the per-partition offset watermarks in Redis ({p}:wm): read once per partition,
 * then kept from its own writes. Shared by the prediction and label processors.
 */
export class PartitionWatermarks {
  private readonly cache = new Map<string, bigint>();

  constructor(private readonly store: RedisStateStore) {}

  /** The last offset applied (-1n when none). */
  async get(topic: string, partition: number): Promise<bigint> {
    const cached = this.cache.get(`${topic}/${partition}`);
    if (cached !== undefined) return cached;
    const stored = await this.store.readWatermark(topic, partition);
    return stored === '' ? -1n : BigInt(stored);
  }

  set(topic: string, partition: number, offset: string): void {
    this.cache.set(`${topic}/${partition}`, offset === '' ? -1n : BigInt(offset));
  }

  /** Forget partitions this worker no longer owns (they move under others). */
  clear(): void {
    this.cache.clear();
  }
}

/** The stored form of a watermark: "" for none. */
export const storedWatermark = (watermark: bigint): string => (watermark < 0n ? '' : watermark.toString());

/** Fetches the writer schemas a batch needs before it is decoded (decoding itself stays synchronous). */
export async function resolveSchemas(messages: readonly KafkaMessage[], schemas: SchemaRegistryCache): Promise<void> {
  const missing = unresolvedSchemaIds(
    messages.map((message) => message.value),
    schemas,
  );
  if (missing.size > 0) await schemas.resolve(missing);
}

/** A rejected message as it goes to the dead-letter topic: original bytes and headers, and why. */
export function deadLetterOf(batch: PartitionBatch, message: KafkaMessage, rejection: Rejection): DeadLetter {
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
