import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

export const BROKERS = ['127.0.0.1:9092'];
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const REGISTRY_URL = process.env['DRIFTWATCH_REGISTRY_URL'] ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

/** A random suffix: every test gets its own topics, group and key prefix. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;

export function testKafka(clientId = uniqueName('test')): Kafka {
  return new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING });
}

export async function createTopics(admin: Admin, topics: { topic: string; numPartitions: number }[]): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
}

/** Polls `check` until it returns a value other than undefined, or fails with `what` at the deadline. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
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
