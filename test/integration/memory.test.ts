import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

/** Live JavaScript memory of the worker (V8 heap in use + external buffers), from its own /metrics. */
async function liveMiB(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)![1]);
  return (gauge('driftwatch_process_nodejs_heap_size_used_bytes') + gauge('driftwatch_process_nodejs_external_memory_bytes')) / 1048576;
}

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
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

  it('stays within fixed memory bounds while 330k events of 1,000 models × 20 features stream through', async () => {
    const port = await freePort();
    const topologyFile = writeTopology({
      sources: { brokers: BROKERS, group_id: groupId, registry_url: REGISTRY_URL, predictions: { topics: [topic] }, start_from: 'earliest' },
      state: { redis_url: REDIS_URL, key_prefix: prefix },
      labels: { enabled: false },
      sinks: { alerts_topic: `alerts-${suffix}`, dlq_topic: `dlq-${suffix}`, metrics: { port, host: '127.0.0.1' } },
    });
    // A heap ceiling makes "flat" testable: with a per-event leak the worker would run out of heap and
    // die; without one, the garbage collector keeps it under the ceiling however many events pass.
    const worker = workers.start(topologyFile, 'memory', ['--max-old-space-size=1024']);
    const live: number[] = [];
    const resident: number[] = [];
    for (const count of [60_000, 90_000, 90_000, 90_000]) {
      await phase(count);
      await new Promise((resolve) => setTimeout(resolve, 11_000)); // at least one evaluation tick over all models
      live.push(await liveMiB(port));
      resident.push(residentMiB(worker.pid!));
    }
    const fmt = (values: number[]) => values.map((mib) => mib.toFixed(0)).join(', ');
    console.log(`worker after each phase (${produced} events, ${MODELS} models × 20 features): heap+external MiB ${fmt(live)}; RSS MiB ${fmt(resident)}`);
    // The worker lived through every phase under a 1 GiB heap ceiling (a leak of 4 KB per event
    // would have needed 1.3 GB), and its memory stayed within fixed bounds. Samples of live memory
    // include garbage not yet collected, so they are bounded here rather than compared to each other.
    expect(worker.exitCode).toBe(null);
    expect(Math.max(...live)).toBeLessThan(900);
    expect(Math.max(...resident)).toBeLessThan(1300);
  }, 600_000);
});
