import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { PREDICTION_SCHEMA_FILE } from '../../src/produce/encode.ts';
import { LABEL_SCHEMA_FILE } from '../../src/produce/labels.ts';
import { registerSchema } from '../../src/sinks/register-schema.ts';
import { registryConnection } from '../../src/sources/registry-client.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import type { VerdictEvent } from '../../src/evaluate/verdict-event.ts';
import { decodeAlertEvent } from '../../src/sinks/alerts.ts';
import { decodeVerdictEvent } from '../../src/sinks/verdicts.ts';
import { ENDPOINTS, uniqueName } from './endpoints.ts';

export function testKafka(clientId = uniqueName('test')): Kafka {
  return new Kafka({ clientId, brokers: ENDPOINTS.brokers, logLevel: logLevel.NOTHING });
}

export async function createTopics(admin: Admin, topics: { topic: string; numPartitions: number }[]): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
}

/** Total messages the group has not committed yet across the topic's partitions. */
export async function groupLag(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [latest, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
  const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  let lag = 0;
  for (const partition of latest) {
    const committedOffset = done.get(partition.partition) ?? -1;
    lag += Number(partition.high) - Math.max(0, committedOffset);
  }
  return lag;
}

/**
 * The registry id of the prediction-log (or label) schema this checkout encodes with, registered under
 * the topic's own subject: a producer names the schema of its bytes, never the subject's latest version
 * (which another checkout on the shared stack may have moved on).
 */
export async function schemaIdFor(topic: string, schema: 'prediction' | 'label' = 'prediction'): Promise<number> {
  return registerSchema(registryConnection({ registry_url: ENDPOINTS.registryUrl, registry: {} }), `${topic}-value`, readFileSync(schema === 'prediction' ? PREDICTION_SCHEMA_FILE : LABEL_SCHEMA_FILE, 'utf8'));
}

/**
 * Collects every alert event on a topic, from its beginning, until stopped. A shared topic (the stack's
 * driftwatch.alerts) keeps events that earlier checkouts wrote with an older alert schema: those are
 * counted in `undecodable` and passed over (a throw here would stop the consumer at the first of them).
 */
export async function collectAlerts(kafka: Kafka, topic: string): Promise<{ events: AlertEvent[]; undecodable: () => number; stop: () => Promise<void> }> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('alerts-reader') });
  const events: AlertEvent[] = [];
  let undecodable = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      try {
        events.push(decodeAlertEvent(message.value));
      } catch {
        undecodable++;
      }
    },
  });
  return { events, undecodable: () => undecodable, stop: () => consumer.disconnect() };
}

/** Collects every verdict event on a topic, from its beginning, with its key, into `events`, until stopped. */
export async function collectVerdicts(kafka: Kafka, topic: string, events: (VerdictEvent & { key: string })[] = []): Promise<{ events: (VerdictEvent & { key: string })[]; stop: () => Promise<void> }> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('verdicts-reader') });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) events.push({ ...decodeVerdictEvent(message.value), key: message.key?.toString() ?? '' });
    },
  });
  return { events, stop: () => consumer.disconnect() };
}

/** Creates a test's four topics: predictions and labels with `partitions`, DLQ and alerts with one. */
export async function createTestTopics(admin: Admin, topics: { predictions: string; labels: string; dlq: string; alerts: string }, partitions: number): Promise<void> {
  await createTopics(admin, [
    { topic: topics.predictions, numPartitions: partitions },
    { topic: topics.labels, numPartitions: partitions },
    { topic: topics.dlq, numPartitions: 1 },
    { topic: topics.alerts, numPartitions: 1 },
  ]);
}
