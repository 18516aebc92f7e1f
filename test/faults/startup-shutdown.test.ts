import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { FAULT_BROKERS, FAULT_REDIS_URL, faultKafka, faultRedis } from '../kit/faults.ts';
import { ENDPOINTS } from '../kit/endpoints.ts';
import { freePort } from '../kit/tcp-proxy.ts';
import { testNames, writeTopology } from '../kit/topology.ts';
import { waitFor } from '../kit/wait.ts';

const run = (topologyFile: string, extra: string[] = []) =>
  spawn(process.execPath, ['bin/driftwatch.js', 'run', '--topology', topologyFile, ...extra], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DRIFTWATCH_LOG_LEVEL: 'warn' } });

const status = async (port: number, path: string) => {
  try {
    return (await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(1000) })).status;
  } catch {
    return 0;
  }
};

describe('worker start and stop', () => {
  const redis = faultRedis();
  afterAll(async () => {
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    await redis.quit();
  });

  const names = testNames('startup');
  const topology = (port: number, brokers = FAULT_BROKERS) => {
    return writeTopology({
      sources: { brokers, registry_url: ENDPOINTS.registryUrl, group_id: names.group, predictions: { topics: [names.topics.predictions] }, labels: { topics: [names.topics.labels] } },
      state: { redis_url: FAULT_REDIS_URL, key_prefix: names.prefix },
      sinks: { dlq_topic: names.topics.dlq, alerts_topic: names.topics.alerts, metrics: { port, host: '127.0.0.1' } },
    });
  };

  it('refuses, with exit code 2 and one line, a Redis whose eviction policy can drop state', async () => {
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const child = run(topology(await freePort()));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    await redis.config('SET', 'maxmemory-policy', 'noeviction');
    expect(code).toBe(2);
    expect(stderr).toContain('DW_ERR_CONFIG');
    expect(stderr).toContain('maxmemory-policy allkeys-lru');
  });

  it('answers /healthz while it still waits for Kafka, /readyz 503 until it consumes and while it drains, then exits 0', async () => {
    const port = await freePort();
    // A broker address nobody answers on: the worker keeps retrying its connection.
    const child = run(topology(port, [`127.0.0.1:${await freePort()}`]));
    child.stderr.resume();
    await waitFor('/healthz', async () => ((await status(port, '/healthz')) === 200 ? true : undefined), 20_000, 200);
    expect(await status(port, '/readyz')).toBe(503);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);

    const admin = faultKafka().admin();
    await admin.connect();
    await admin.createTopics({ waitForLeaders: true, topics: Object.values(names.topics).map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })) });
    const port2 = await freePort();
    const worker = run(topology(port2));
    worker.stderr.resume();
    await waitFor('/readyz 200', async () => ((await status(port2, '/readyz')) === 200 ? true : undefined), 60_000, 200);
    worker.kill('SIGTERM');
    // Draining: the server still answers, not ready.
    const during = await status(port2, '/readyz');
    const exited = await new Promise<number | null>((resolve) => worker.once('exit', resolve));
    expect([503, 0]).toContain(during);
    expect(exited).toBe(0);
    await admin.deleteTopics({ topics: Object.values(names.topics) }).catch(() => undefined);
    await admin.disconnect();
  });
});
