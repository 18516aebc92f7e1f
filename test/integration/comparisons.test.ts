import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { modelKey } from '../../src/aggregate/index.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { verdictId } from '../../src/evaluate/verdict-event.ts';
import { startWorker } from '../../src/pipeline.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC, type DeploymentSpec, type TrafficSpec } from '../../src/produce/traffic.ts';
import { listVerdicts } from '../../src/report/comparisons.ts';
import { buildStatus } from '../../src/report/status.ts';
import type { StoredComparison } from '../../src/runtime/comparison-runner.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { collectVerdicts, createTestTopics, createTopics, ENDPOINTS, STATE_MODES, testKafka, testNames, testTopology, testTopologyDocument, waitFor, type StateMode } from '../kit/index.ts';

const kafka = testKafka();
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** One test's topics (its own verdicts topic too), prefix, topology, state and a reader of its verdicts. */
async function setup(mode: StateMode, name: string, sections: Record<string, Record<string, unknown>>, verdictTopicConfig: { name: string; value: string }[] = []) {
  const names = testNames(`${name}-${mode}`);
  const verdictsTopic = `verdicts-${names.suffix}`;
  const admin: Admin = kafka.admin();
  await admin.connect();
  await createTestTopics(admin, names.topics, 3);
  await admin.createTopics({ topics: [{ topic: verdictsTopic, numPartitions: 1, replicationFactor: 1, configEntries: verdictTopicConfig }], waitForLeaders: true });
  const all = {
    ...sections,
    sources: { start_from: 'earliest', session_timeout: '6s', ...sections['sources'] },
    labels: { retry_interval: '500ms', ...sections['labels'] },
    sinks: { verdicts_topic: verdictsTopic, ...sections['sinks'] },
  };
  const document = testTopologyDocument(names, mode, all);
  const topology = testTopology(names, mode, all);
  const state = openTopologyState(topology);
  cleanups.push(async () => {
    await admin.deleteTopics({ topics: [...Object.values(names.topics), verdictsTopic] }).catch(() => undefined);
    await admin.disconnect();
    await state.admin.purge();
    await state.close();
  });
  const verdicts = await collectVerdicts(kafka, verdictsTopic);
  cleanups.push(verdicts.stop);
  return { names, admin, verdictsTopic, document, topology, state, verdicts: verdicts.events };
}

async function startInProcessWorker(topology: ReturnType<typeof testTopology>, id: string) {
  const worker = await startWorker({ topology, logger: createLogger('comparisons-test', 'warn'), registry: createRegistry(false), workerId: id });
  cleanups.push(() => worker.stop());
  await waitFor('the worker to join its group', async () => (worker.ready() ? true : undefined), 60_000);
  return worker;
}

const CLASSES = ['a', 'b', 'c'];
const canaryTraffic = (seed: number, deployments: DeploymentSpec[]): TrafficSpec => ({ ...DEFAULT_TRAFFIC, seed, numericFeatures: 2, categoricalFeatures: 1, classes: CLASSES, deployments });

/** Requests at `rate`/s for up to `durationMs` with labels 5 s after each prediction (primary accuracy 0.9); stopped by the returned function. */
function produce(topics: { predictions: string; labels: string }, spec: TrafficSpec, rate: number, durationMs: number, onEvent?: (event: PredictionEvent) => void) {
  const controller = new AbortController();
  const running = produceTraffic({
    brokers: ENDPOINTS.brokers,
    registryUrl: ENDPOINTS.registryUrl,
    topic: topics.predictions,
    encoding: 'mixed',
    rate,
    durationMs,
    signal: controller.signal,
    spec,
    labels: { topic: topics.labels, spec: { seed: spec.seed, accuracy: 0.9, noise: 0, delayMs: { min: 5000, max: 5000 } } },
    ...(onEvent ? { onEvent } : {}),
  });
  const stop = async () => {
    controller.abort();
    await running.catch(() => undefined);
  };
  cleanups.push(stop);
  return stop;
}

const statusOf = async (setupResult: Awaited<ReturnType<typeof setup>>) =>
  buildStatus(setupResult.state, new ModelReader(setupResult.state, setupResult.topology, { cacheReferences: false }), Date.now(), { name: '1m', duration: 60_000 });

describe.each(STATE_MODES)('comparisons (%s Redis): canaries against their primary', (mode) => {
  it('a canary at accuracy 0.75 beside a primary at 0.90 (10 % of traffic, labels 5 s later) is rolled back once, within 1,500 canary labels', async () => {
    const world = await setup(mode, 'canary-worse', { evaluation: { tick: '2s', lease: '10s' }, comparisons: { min_duration: '10m' } });
    await startInProcessWorker(world.topology, `w-${world.names.suffix}`);
    const started = Date.now();
    const stop = produce(world.names.topics, canaryTraffic(41, [{ model: 'eta-v2', role: 'canary', share: 0.1, accuracy: 0.75 }]), 100, 180_000);

    const verdict = await waitFor('the rollback verdict', async () => world.verdicts[0], 170_000, 250);
    const decidedAfterS = (verdict.decided_at - started) / 1000;
    await stop();
    // A while longer: the candidate is decided; nothing more may come, whatever the ticks see.
    await sleep(8000);
    console.log(`rollback: ${verdict.evidence['candidate.labeled']} canary labels (${verdict.evidence['baseline.labeled']} primary), ${decidedAfterS.toFixed(1)} s after traffic started; ${verdict.reason}`);
    expect(world.verdicts).toHaveLength(1);
    expect(verdict).toMatchObject({
      verdict_id: verdictId('eta', 'eta-v2'),
      key: 'eta/eta-v2',
      predictor_name: 'eta',
      candidate_model_id: 'eta-v2',
      candidate_role: 'canary',
      baseline_model_id: 'eta-v1',
      decision: 'rollback',
      trigger: 'accuracy',
    });
    expect(verdict.evidence['candidate.labeled']).toBeGreaterThanOrEqual(200);
    expect(verdict.evidence['candidate.labeled']).toBeLessThanOrEqual(1500);
    expect(verdict.evidence['accuracy_difference.upper']).toBeLessThan(-0.02);
    expect(verdict.evidence['accuracy_difference.candidate']).toBeLessThan(0.82);
    expect(verdict.reason).toMatch(/^canary eta\/eta-v2: accuracy .* is worse than the 2-point margin with 97\.5% confidence/);

    // The audit trail: published, with its evidence; status shows the decided comparison.
    const [kept] = await listVerdicts(world.state);
    expect(kept).toMatchObject({ verdict_id: verdict.verdict_id, decision: 'rollback' });
    expect(kept!.published_at).toBeGreaterThanOrEqual(verdict.decided_at);
    expect(kept!.evidence).toEqual(verdict.evidence);
    const status = await statusOf(world);
    expect(status.comparisons).toHaveLength(1);
    expect(status.comparisons![0]).toMatchObject({ candidate_model_id: 'eta-v2', candidate_role: 'canary', baseline_model_id: 'eta-v1', state: 'rollback', verdict: { verdict_id: verdict.verdict_id } });
    expect(status.models.find((model) => model.model_id === 'eta-v2')!.role).toBe('canary');
  }, 240_000);

  it('a better canary (accuracy 0.97) is promoted, not before the minimum duration', async () => {
    const world = await setup(mode, 'canary-better', { evaluation: { tick: '2s', lease: '10s' }, comparisons: { min_duration: '45s' } });
    await startInProcessWorker(world.topology, `w-${world.names.suffix}`);
    const stop = produce(world.names.topics, canaryTraffic(43, [{ model: 'eta-v2', role: 'canary', share: 0.1, accuracy: 0.97 }]), 100, 180_000);

    // While it runs, status shows the comparison's running state: samples, estimate, bounds, time to a decision.
    const running = await waitFor(
      'the running comparison in status',
      async () => {
        const comparison = (await statusOf(world)).comparisons?.[0];
        return comparison && comparison.state === 'running' && (comparison.samples?.candidate.labeled ?? 0) > 50 ? comparison : undefined;
      },
      60_000,
      1000,
    );
    expect(running).toMatchObject({ candidate_model_id: 'eta-v2', baseline_model_id: 'eta-v1', metric: { name: 'accuracy', margin: 0.02 }, towards: 'promote' });
    expect(running.statistics.accuracy_difference!.lower).toBeLessThan(running.statistics.accuracy_difference!.value);
    expect(running.decision_eta_s).toBeGreaterThan(0);

    const verdict = await waitFor('the promote verdict', async () => world.verdicts[0], 170_000, 250);
    await stop();
    await sleep(6000);
    console.log(`promote: after ${verdict.evidence['duration_s']} s of comparison, ${verdict.evidence['candidate.labeled']} canary labels; ${verdict.reason}`);
    expect(world.verdicts).toHaveLength(1);
    expect(verdict).toMatchObject({ decision: 'promote', candidate_model_id: 'eta-v2', baseline_model_id: 'eta-v1', trigger: 'accuracy' });
    expect(verdict.decided_at - verdict.started_at).toBeGreaterThanOrEqual(45_000);
    expect(verdict.evidence['accuracy_difference.lower']).toBeGreaterThan(-0.02);
    const stored = JSON.parse((await world.state.comparisons.read(modelKey('eta', 'eta-v2'))).state!) as StoredComparison;
    expect(stored.state).toBe('promote');
  }, 240_000);
});

// Referenced by later tests in this file.
void createTopics;
