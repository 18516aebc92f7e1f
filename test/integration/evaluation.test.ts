import type { Admin } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { modelKey } from '../../src/aggregate/index.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import { startWorker, type Worker } from '../../src/pipeline.ts';
import { parseDriftStep } from '../../src/produce/drift-spec.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC, type TrafficSpec } from '../../src/produce/traffic.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import {
  collectAlerts,
  createTestTopics,
  ENDPOINTS,
  loadGeneratedBaselines,
  rawRedis,
  STATE_MODES,
  testKafka,
  testNames,
  testTopology,
  testTopologyDocument,
  waitFor,
  WorkerProcesses,
  writeTopology,
  type StateMode,
} from '../kit/index.ts';

const kafka = testKafka();
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** Topics, prefix and topology of one test. */
async function setup(mode: StateMode, name: string, sections: Record<string, Record<string, unknown>>) {
  const names = testNames(`${name}-${mode}`);
  const { topics } = names;
  const admin: Admin = kafka.admin();
  await admin.connect();
  await createTestTopics(admin, topics, 3);
  const all = { ...sections, sources: { start_from: 'earliest', session_timeout: '6s', ...sections['sources'] } };
  const document = testTopologyDocument(names, mode, all);
  const topology = testTopology(names, mode, all);
  const state = openTopologyState(topology);
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    await state.admin.purge();
    await state.close();
  });
  const alerts = await collectAlerts(kafka, topics.alerts);
  cleanups.push(alerts.stop);
  return { names, topics, document, topology, state, alerts: alerts.events };
}

const summarize = (events: AlertEvent[]) => events.map((event) => `${event.state}:${event.rule}:${event.feature ?? ''}`);

describe.each(STATE_MODES)('evaluation (%s Redis): alerts from drift and health, exactly once', (mode) => {
  it('a 1σ shift at 100 events/s fires once within 60 s for that feature only, and resolves once after, across a killed worker', async () => {
    // Default windows and rules (1-minute buckets and window, built-in rules); a 5 s tick.
    const { topics, document, state, alerts } = await setup(mode, 'eval-shift', { evaluation: { tick: '5s', lease: '12s' } });
    const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 7, models: 1, drift: [] };
    await loadGeneratedBaselines(state, spec, 20_000);
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
      brokers: ENDPOINTS.brokers,
      registryUrl: ENDPOINTS.registryUrl,
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
    const raw = rawRedis(mode);
    const owner = await raw.get(state.keys.model(modelKey('eta', 'eta-v1')).lease);
    await raw.quit();
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
    const { topics, names, state, alerts } = await setup(mode, 'eval-kinds', {
      windows: { current: [{ name: '15s', duration: '15s' }] },
      evaluation: { tick: '1s' },
      state: { retention: { fine: { bucket: '5s', keep: '1h' } } },
    });
    const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 11, models: 1, drift: [] };
    await loadGeneratedBaselines(state, spec, 20_000);
    const fast = testTopology(names, mode, {
      windows: { current: [{ name: '15s', duration: '15s' }] },
      evaluation: { tick: '1s' },
      state: { retention: { fine: { bucket: '5s', keep: '1h' } } },
      sources: { start_from: 'earliest', session_timeout: '6s' },
    });
    const worker: Worker = await startWorker({ topology: fast, logger: createLogger('test', 'warn'), registry: createRegistry(false), workerId: 'solo' });
    cleanups.push(() => worker.stop());
    await produceTraffic({
      brokers: ENDPOINTS.brokers,
      registryUrl: ENDPOINTS.registryUrl,
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
