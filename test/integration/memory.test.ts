import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { createTestTopics, ENDPOINTS, groupLag, testKafka, testNames, testTopology, testTopologyDocument, waitFor, WorkerProcesses, writeTopology } from '../kit/index.ts';

const MODELS = 1000;

function residentMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** The worker's own gauges, from its /metrics. */
async function workerMetrics(port: number): Promise<{ liveMiB: number; floorMiB: number; ticks: number }> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    liveMiB: (value('driftwatch_process_nodejs_heap_size_used_bytes') + value('driftwatch_process_nodejs_external_memory_bytes')) / 1048576,
    floorMiB: value('driftwatch_process_live_bytes_after_gc') / 1048576,
    ticks: value('driftwatch_evaluation_tick_seconds_count'),
  };
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
  const names = testNames('memory');
  const { predictions: topic } = names.topics;
  const groupId = names.group;
  const sections = { sources: { start_from: 'earliest' }, labels: { enabled: false } };
  const kafka = testKafka();
  const admin = kafka.admin();
  const workers = new WorkerProcesses();
  const spec = { ...DEFAULT_TRAFFIC, seed: 5, models: MODELS };
  let produced = 0;

  let port = 0;
  const phase = async (count: number, backdateMs = 0) => {
    const { sent } = await produceTraffic({ brokers: ENDPOINTS.brokers, registryUrl: ENDPOINTS.registryUrl, topic, encoding: 'avro', rate: 0, count, backdateMs, spec: { ...spec, seed: spec.seed + produced } });
    produced += sent;
    await waitFor('the worker to catch up', async () => ((await groupLag(admin, groupId, topic)) === 0 ? true : undefined), 180_000, 500);
    // Then one whole evaluation tick over every model (the second tick to end from now).
    const { ticks } = await workerMetrics(port);
    await waitFor('an evaluation tick over all models', async () => ((await workerMetrics(port)).ticks >= ticks + 2 ? true : undefined), 120_000, 500);
  };

  beforeAll(async () => {
    await admin.connect();
    await createTestTopics(admin, names.topics, 3);
  });

  afterAll(async () => {
    workers.killAll();
    await admin.deleteTopics({ topics: Object.values(names.topics) }).catch(() => undefined);
    await admin.disconnect();
    const state = openTopologyState(testTopology(names, 'single', sections));
    await state.admin.purge();
    await state.close();
  });

  it('keeps its memory flat while 420k events of 1,000 models × 20 features stream through', async () => {
    port = await freePort();
    const topologyFile = writeTopology(testTopologyDocument(names, 'single', { ...sections, sinks: { metrics: { port, host: '127.0.0.1' } } }));
    // Under a 256 MiB heap ceiling a worker that kept ~500 bytes per event would run out of heap and
    // die within the run; one that keeps only per-model state collects its garbage under it.
    const worker = workers.start(topologyFile, 'memory', ['--max-old-space-size=256']);
    // Warm-up: 5 minutes in the past, so that every model has a rolling reference (the evaluation
    // loop's cache, the largest thing a worker keeps per model) from the first ticks on; then a phase
    // in the present, after which every per-model structure exists.
    await phase(60_000, 5 * 60_000);
    await phase(90_000);
    const floor: number[] = [];
    const live: number[] = [];
    const resident: number[] = [];
    for (let i = 0; i < 3; i++) {
      await phase(90_000);
      const metrics = await workerMetrics(port);
      floor.push(metrics.floorMiB);
      live.push(metrics.liveMiB);
      resident.push(residentMiB(worker.pid!));
    }
    const fmt = (values: number[]) => values.map((mib) => mib.toFixed(1)).join(', ');
    console.log(`worker after each measured phase of 90k events (${produced} in all, ${MODELS} models × 20 features): live MiB after the last major GC ${fmt(floor)}; heap+external MiB ${fmt(live)}; RSS MiB ${fmt(resident)}`);
    expect(worker.exitCode).toBe(null);
    // Flat: over the 270k events of the measured phases, the floor of the worker's memory (what is
    // left after a major GC; it moves by ±5 MiB with what the GC happened to interrupt) moved by less
    // than 16 MiB: under 62 bytes an event, where keeping one small object per event is 60–100.
    expect(Math.max(...floor) - Math.min(...floor)).toBeLessThan(16);
    expect(Math.max(...floor)).toBeLessThan(220);
    expect(Math.max(...resident)).toBeLessThan(700);
  }, 600_000);
});
