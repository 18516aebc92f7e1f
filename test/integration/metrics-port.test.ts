import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/topology.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { ENDPOINTS, createTopics, testKafka, uniqueName, waitFor, writeTopology } from '../kit/index.ts';

const BROKERS = ENDPOINTS.brokers;
const REDIS_URL = ENDPOINTS.redisUrl;
const REGISTRY_URL = ENDPOINTS.registryUrl;

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** A `driftwatch run` process; its stderr kept for the assertions. */
function worker(args: string[], env: Record<string, string> = {}): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/driftwatch.js', 'run', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DRIFTWATCH_LOG_LEVEL: 'warn', ...env } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, stderr: () => stderr, exit };
}

const get = async (url: string): Promise<{ status: number; body: string }> => {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
};

describe('metrics port: several workers on one host', () => {
  const suffix = uniqueName('metrics-port');
  const topic = `predictions-${suffix}`;
  const prefix = `test:${suffix}`;
  const document = {
    sources: { brokers: BROKERS, group_id: `group-${suffix}`, registry_url: REGISTRY_URL, predictions: { topics: [topic] }, start_from: 'earliest', session_timeout: '6s' },
    state: { redis_url: REDIS_URL, key_prefix: prefix },
    labels: { enabled: false },
    sinks: { alerts_topic: `alerts-${suffix}`, dlq_topic: `dlq-${suffix}`, metrics: { host: '127.0.0.1' } },
  };
  const topologyFile = writeTopology(document);
  const admin = testKafka().admin();
  const started: ChildProcess[] = [];

  beforeAll(async () => {
    await admin.connect();
    await createTopics(admin, [{ topic, numPartitions: 2 }, { topic: `alerts-${suffix}`, numPartitions: 1 }, { topic: `dlq-${suffix}`, numPartitions: 1 }]);
  });

  afterAll(async () => {
    for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
    await admin.deleteTopics({ topics: [topic, `alerts-${suffix}`, `dlq-${suffix}`] }).catch(() => undefined);
    await admin.disconnect();
    const store = openTopologyState(parseTopology(document));
    await store?.admin.purge();
    await store.close();
  });

  it('two workers, one with --metrics-port and one with DW_METRICS_PORT, share the partitions and count every event once', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    const a = worker(['--topology', topologyFile, '--worker-id', 'a', '--metrics-port', String(portA)]);
    const b = worker(['--topology', topologyFile, '--worker-id', 'b'], { DW_METRICS_PORT: String(portB) });
    started.push(a.child, b.child);
    for (const port of [portA, portB]) {
      await waitFor(`the worker on :${port} to be ready`, async () => ((await get(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), 90_000, 500);
    }
    const { sent } = await produceTraffic({ brokers: BROKERS, registryUrl: REGISTRY_URL, topic, encoding: 'json', rate: 0, count: 2000, spec: { ...DEFAULT_TRAFFIC, seed: 21, numericFeatures: 2, categoricalFeatures: 1 } });
    const counted = async (port: number) => {
      const text = (await get(`http://127.0.0.1:${port}/metrics`)).body;
      return [...text.matchAll(/^driftwatch_events_total\{[^}]*\} (\d+)$/gm)].reduce((sum, match) => sum + Number(match[1]), 0);
    };
    const perWorker = await waitFor(
      'both workers to have counted every event between them',
      async () => {
        const counts = [await counted(portA), await counted(portB)];
        return counts[0]! + counts[1]! === sent ? counts : undefined;
      },
      60_000,
      500,
    );
    // Each worker took one partition: both counted some of the events.
    expect(perWorker.every((count) => count > 0)).toBe(true);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect([await a.exit, await b.exit]).toEqual([0, 0]);
    expect(a.stderr() + b.stderr()).not.toMatch(/EADDRINUSE/);
  }, 180_000);

  it('a port another process holds: exit 2 at once with one line naming the port, the address and the flag', async () => {
    const holder: Server = await new Promise((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => resolve(server));
    });
    const { port } = holder.address() as { port: number };
    try {
      for (const [args, env] of [
        [['--metrics-port', String(port)], {}],
        [[], { DW_METRICS_PORT: String(port) }],
      ] as const) {
        const began = Date.now();
        const collision = worker(['--topology', topologyFile, '--worker-id', 'c', ...args], env);
        started.push(collision.child);
        expect(await collision.exit).toBe(2);
        expect(collision.stderr()).toBe(
          `driftwatch: DW_ERR_CONFIG: metrics port ${port} on 127.0.0.1 is already in use: give each worker on this host its own with --metrics-port <port> (or DW_METRICS_PORT; 0 picks a free one)\n`,
        );
        // Found before joining the consumer group, not after a rebalance.
        expect(Date.now() - began).toBeLessThan(15_000);
      }
    } finally {
      holder.close();
    }
  }, 60_000);
});
