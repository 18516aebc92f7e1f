import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/topology.ts';
import { startWorker, storeOptions, type Worker } from '../../src/pipeline.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { RedisStateStore } from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { BROKERS, createTopics, groupLag, REDIS_URL, REGISTRY_URL, testKafka, uniqueName, waitFor } from '../helpers/stack.ts';

describe('a Redis outage', () => {
  const suffix = uniqueName('outage');
  const topics = { predictions: `predictions-${suffix}`, alerts: `alerts-${suffix}`, dlq: `dlq-${suffix}` };
  const groupId = `group-${suffix}`;
  const prefix = `test:${suffix}`;
  const kafka = testKafka();
  const admin = kafka.admin();
  const redis = new Redis(REDIS_URL);
  let worker: Worker;

  beforeAll(async () => {
    await admin.connect();
    await createTopics(admin, Object.values(topics).map((topic) => ({ topic, numPartitions: 2 })));
  });
  afterAll(async () => {
    await worker?.stop();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    const keys = await redis.keys(`{${prefix}}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('is waited out: nothing is lost or counted twice when Redis stops answering mid-stream', async () => {
    const topology = parseTopology({
      sources: { brokers: BROKERS, group_id: groupId, registry_url: REGISTRY_URL, predictions: { topics: [topics.predictions] }, start_from: 'earliest' },
      state: { redis_url: REDIS_URL, key_prefix: prefix },
      labels: { enabled: false },
      sinks: { alerts_topic: topics.alerts, dlq_topic: topics.dlq },
    });
    worker = await startWorker({ topology, logger: createLogger('test', 'error'), registry: createRegistry(false), workerId: 'outage', evaluate: false });
    const produce = (seed: number) =>
      produceTraffic({ brokers: BROKERS, registryUrl: REGISTRY_URL, topic: topics.predictions, encoding: 'mixed', rate: 0, count: 5000, spec: { ...DEFAULT_TRAFFIC, seed } });
    await produce(1);
    // Every client's writes block for 4 s (as if Redis were gone), while more events arrive.
    await redis.call('CLIENT', 'PAUSE', '4000', 'WRITE');
    await produce(2);
    await waitFor('the worker to catch up', async () => ((await groupLag(admin, groupId, topics.predictions)) === 0 ? true : undefined), 60_000, 500);
    const store = RedisStateStore.connect(REDIS_URL, storeOptions(topology));
    try {
      const [model] = await store.models();
      expect((await store.totals(model!.key)).count).toBe(10_000);
    } finally {
      await store.close();
    }
  });
});
