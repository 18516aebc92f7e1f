import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { BROKERS, createTopics, groupLag, REDIS_URL, REGISTRY_URL, testKafka, uniqueName, waitFor } from '../helpers/stack.ts';
import { WorkerProcesses, writeTopology } from '../helpers/workers.ts';

const MODELS = 1000;

function residentMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('a worker under 1,000 models × 20 features', () => {
  const suffix = uniqueName('memory');
  const topic = `predictions-${suffix}`;
  const groupId = `group-${suffix}`;
  const prefix = `test:${suffix}`;
  const kafka = testKafka();
  const admin = kafka.admin();
  const workers = new WorkerProcesses();
  const spec = { ...DEFAULT_TRAFFIC, seed: 5, models: MODELS };
  let produced = 0;

  const phase = async (count: number) => {
    const { sent } = await produceTraffic({ brokers: BROKERS, registryUrl: REGISTRY_URL, topic, encoding: 'avro', rate: 0, count, spec: { ...spec, seed: spec.seed + produced } });
    produced += sent;
    await waitFor('the worker to catch up', async () => ((await groupLag(admin, groupId, topic)) === 0 ? true : undefined), 180_000, 500);
  };

  beforeAll(async () => {
    await admin.connect();
    await createTopics(admin, [
      { topic, numPartitions: 3 },
      { topic: `alerts-${suffix}`, numPartitions: 1 },
      { topic: `dlq-${suffix}`, numPartitions: 1 },
    ]);
  });

  afterAll(async () => {
    workers.killAll();
    await admin.deleteTopics({ topics: [topic, `alerts-${suffix}`, `dlq-${suffix}`] }).catch(() => undefined);
    await admin.disconnect();
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  });

  it('keeps its memory flat: no growth per event once every model and feature is known', async () => {
    const topologyFile = writeTopology({
      sources: { brokers: BROKERS, group_id: groupId, registry_url: REGISTRY_URL, predictions: { topics: [topic] }, start_from: 'earliest' },
      state: { redis_url: REDIS_URL, key_prefix: prefix },
      labels: { enabled: false },
      sinks: { alerts_topic: `alerts-${suffix}`, dlq_topic: `dlq-${suffix}`, metrics: { port: 0, host: '127.0.0.1' } },
    });
    const worker = workers.start(topologyFile, 'memory');
    // Warm up: every model and feature seen, caches and evaluation state built.
    await phase(60_000);
    await new Promise((resolve) => setTimeout(resolve, 12_000)); // at least one evaluation tick over all models
    const warm = residentMiB(worker.pid!);
    // Three times as many events again.
    await phase(90_000);
    await phase(90_000);
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const after = residentMiB(worker.pid!);
    console.log(`worker RSS: ${warm.toFixed(0)} MiB after ${60_000} events, ${after.toFixed(0)} MiB after ${produced} (${MODELS} models × 20 features)`);
    expect(worker.exitCode).toBe(null);
    // A leak of even 250 bytes per event would add 43 MiB here.
    expect(after - warm).toBeLessThan(40);
    expect(after).toBeLessThan(700);
  }, 600_000);
});
