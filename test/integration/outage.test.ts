import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../../src/pipeline.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { createTestTopics, ENDPOINTS, groupLag, testKafka, testNames, testTopology, waitFor } from '../kit/index.ts';

describe('a Redis outage', () => {
  const names = testNames('outage');
  const { topics, group: groupId } = names;
  const kafka = testKafka();
  const admin = kafka.admin();
  const redis = new Redis(ENDPOINTS.redisUrl);
  const topology = testTopology(names, 'single', { sources: { start_from: 'earliest' }, labels: { enabled: false } });
  const state = openTopologyState(topology);
  let worker: Worker;

  beforeAll(async () => {
    await admin.connect();
    await createTestTopics(admin, topics, 2);
  });
  afterAll(async () => {
    await worker?.stop();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    await state.admin.purge();
    await state.close();
    await redis.quit();
  });

  it('is waited out: nothing is lost or counted twice when Redis stops answering mid-stream', async () => {
    worker = await startWorker({ topology, logger: createLogger('test', 'error'), registry: createRegistry(false), workerId: 'outage', evaluate: false });
    const produce = (seed: number) =>
      produceTraffic({ brokers: ENDPOINTS.brokers, registryUrl: ENDPOINTS.registryUrl, topic: topics.predictions, encoding: 'mixed', rate: 0, count: 5000, spec: { ...DEFAULT_TRAFFIC, seed } });
    await produce(1);
    // Every client's writes block for 4 s (as if Redis were gone), while more events arrive.
    await redis.call('CLIENT', 'PAUSE', '4000', 'WRITE');
    await produce(2);
    await waitFor('the worker to catch up', async () => ((await groupLag(admin, groupId, topics.predictions)) === 0 ? true : undefined), 60_000, 500);
    const [model] = await state.windows.models();
    expect((await state.windows.totals(model!.key)).count).toBe(10_000);
  });
});
