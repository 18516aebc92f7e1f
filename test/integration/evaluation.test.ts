import { Redis } from 'ioredis';
import type { Admin } from 'kafkajs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/topology.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import { storeOptions, startWorker, type Worker } from '../../src/pipeline.ts';
import { parseDriftStep } from '../../src/produce/drift-spec.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC, type TrafficSpec } from '../../src/produce/traffic.ts';
import { modelKey, RedisStateStore } from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { collectAlerts, loadGeneratedBaselines } from '../helpers/alerts.ts';
import { BROKERS, createTopics, REDIS_URL, REGISTRY_URL, testKafka, uniqueName, waitFor } from '../helpers/stack.ts';
import { WorkerProcesses, writeTopology } from '../helpers/workers.ts';

const kafka = testKafka();
const redis = new Redis(REDIS_URL);
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(async () => {
  await redis.quit();
});

/** Topics, prefix and topology of one test. */
async function setup(name: string, overrides: Record<string, unknown>) {
  const suffix = uniqueName(name);
  const topics = { predictions: `predictions-${suffix}`, alerts: `alerts-${suffix}`, dlq: `dlq-${suffix}` };
  const prefix = `test:${suffix}`;
  const admin: Admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [
    { topic: topics.predictions, numPartitions: 3 },
    { topic: topics.alerts, numPartitions: 1 },
    { topic: topics.dlq, numPartitions: 1 },
  ]);
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    const keys = await redis.keys(`{${prefix}}*`);
    if (keys.length > 0) await redis.del(...keys);
  });
  const document = {
    sources: { brokers: BROKERS, group_id: `group-${suffix}`, registry_url: REGISTRY_URL, predictions: { topics: [topics.predictions] }, start_from: 'earliest', session_timeout: '6s' },
    state: { redis_url: REDIS_URL, key_prefix: prefix },
    sinks: { alerts_topic: topics.alerts, dlq_topic: topics.dlq, metrics: { port: 0, host: '127.0.0.1' } },
    ...overrides,
  };
  const topology = parseTopology(document);
  const store = RedisStateStore.connect(REDIS_URL, storeOptions(topology));
  cleanups.push(() => store.close());
  const alerts = await collectAlerts(kafka, topics.alerts);
  cleanups.push(alerts.stop);
  return { topics, prefix, document, topology, store, alerts: alerts.events };
}

const summarize = (events: AlertEvent[]) => events.map((event) => `${event.state}:${event.rule}:${event.feature ?? ''}`);

describe('evaluation: alerts from drift and health, exactly once', () => {
  it('a 1σ shift at 100 events/s fires once within 60 s for that feature only, and resolves once after, across a killed worker', async () => {
    // Default windows and rules (1-minute buckets and window, built-in rules); a 5 s tick.
    const { topics, prefix, document, store, alerts } = await setup('eval-shift', { evaluation: { tick: '5s', lease: '12s' } });
    const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 7, models: 1, drift: [] };
    await loadGeneratedBaselines(store, spec, 20_000);
    const workers = new WorkerProcesses();
    cleanups.push(async () => workers.killAll());
    const topologyFile = writeTopology(document);
    for (const id of ['w1', 'w2', 'w3']) workers.start(topologyFile, id);

    const shiftFromMs = 20_000;
    const shiftToMs = 90_000;
    const started = Date.now();
    const stopProducing = new AbortController();
    const producing = produceTraffic({
      signal: stopProducing.signal,
      brokers: BROKERS,
      registryUrl: REGISTRY_URL,
      topic: topics.predictions,
      encoding: 'mixed',
      rate: 100,
      durationMs: 240_000,
      spec: { ...spec, drift: [parseDriftStep(`n3:mean+1sd@${shiftFromMs / 1000}s-${shiftToMs / 1000}s`)] },
    });
    cleanups.push(async () => {
      stopProducing.abort();
      await producing;
    });

    const firing = await waitFor('the firing event', async () => alerts.find((event) => event.state === 'firing'), 100_000, 250);
    const detectedAfterMs = Date.now() - started - shiftFromMs;
    expect(detectedAfterMs).toBeLessThan(60_000);
    expect(firing).toMatchObject({ rule: 'feature-drift', feature: 'n3', predictor_name: 'eta', model_id: 'eta-v1', statistic: 'ks', severity: 'warning', reference: 'baseline' });
    expect(firing.summary).toContain('feature "n3" of eta/eta-v1');

    // Kill -9 the worker that evaluates the model, in the middle of the incident.
    const owner = await redis.get(`{${prefix}}:lease:${modelKey('eta', 'eta-v1')}`);
    const victim = workers.all[['w1', 'w2', 'w3'].indexOf(owner ?? '')];
    expect(victim).toBeDefined();
    victim!.kill('SIGKILL');

    const resolved = await waitFor('the resolved event', async () => alerts.find((event) => event.state === 'resolved'), 200_000, 500);
    expect(resolved.id).toBe(firing.id);
    expect(resolved.since).toBe(firing.since);
    expect(resolved.evaluated_at).toBeGreaterThan(started + shiftToMs);
    // A while longer: nothing more may arrive (no duplicate from a takeover, no other feature).
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    expect(summarize(alerts)).toEqual(['firing:feature-drift:n3', 'resolved:feature-drift:n3']);
  }, 330_000);

  it('a category share doubling, a missing-rate jump, a latency jump and an error-rate jump each raise their alert', async () => {
    const { topics, document, topology, store, alerts } = await setup('eval-kinds', {
      windows: { current: [{ name: '15s', duration: '15s' }] },
      evaluation: { tick: '1s' },
    });
    void document;
    const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 11, models: 1, drift: [] };
    await loadGeneratedBaselines(store, spec, 20_000);
    const fast = parseTopology({ ...document, state: { redis_url: REDIS_URL, key_prefix: topology.state.key_prefix, retention: { fine: { bucket: '5s', keep: '1h' } } } });
    const worker: Worker = await startWorker({ topology: fast, logger: createLogger('test', 'warn'), registry: createRegistry(false), workerId: 'solo' });
    cleanups.push(() => worker.stop());
    await produceTraffic({
      brokers: BROKERS,
      registryUrl: REGISTRY_URL,
      topic: topics.predictions,
      encoding: 'avro',
      rate: 200,
      durationMs: 45_000,
      spec: { ...spec, drift: ['c1:share(c2)x2@10s', 'n5:missing=0.3@10s', 'latency:x3@10s', 'errors:rate=0.1@10s'].map(parseDriftStep) },
    });
    const stoppedAt = Date.now();
    const expected = ['firing:category-drift:c1', 'firing:error-rate:', 'firing:latency-p99:', 'firing:missing-values:n5'];
    await waitFor('every alert', async () => (expected.every((alert) => summarize(alerts).includes(alert)) ? true : undefined), 30_000);
    // Then the 15 s window empties as the traffic has stopped: too few samples decide nothing, so the
    // alerts stay firing (no resolution) until traffic tells otherwise.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 20_000 - Date.now())));
    // Each fired once, and nothing else fired or resolved.
    expect(summarize(alerts).sort()).toEqual(expected);
  });
});
