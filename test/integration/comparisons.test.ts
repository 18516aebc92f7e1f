import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Admin } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { modelKey } from '../../src/aggregate/index.ts';
import type { LabelEvent, PredictionEvent } from '../../src/events.ts';
import { verdictId, type VerdictEvent } from '../../src/evaluate/verdict-event.ts';
import { buildWorker, startWorker } from '../../src/pipeline.ts';
import { encodeLabelJson, LabelGenerator } from '../../src/produce/labels.ts';
import { encodeJson } from '../../src/produce/encode.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator, type DeploymentSpec, type TrafficSpec } from '../../src/produce/traffic.ts';
import { listVerdicts } from '../../src/report/comparisons.ts';
import { buildStatus } from '../../src/report/status.ts';
import type { StoredComparison } from '../../src/runtime/comparison-runner.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { exactSpearman as spearman } from '../kit/exact-performance.ts';
import {
  collectVerdicts,
  createTestTopics,
  ENDPOINTS,
  groupLag,
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

/**
 * One test's topics (its own verdicts topic too), prefix, topology, state and a reader of its verdicts.
 * `verdictsTopic: false` leaves the verdicts topic uncreated (the stack's broker creates no topic on
 * use): publishing waits in the producer's retries until the test creates it (`createVerdictsTopic`).
 */
async function setup(mode: StateMode, name: string, sections: Record<string, Record<string, unknown>>, options: { verdictsTopic?: boolean } = {}) {
  const names = testNames(`${name}-${mode}`);
  const verdictsTopic = `verdicts-${names.suffix}`;
  const admin: Admin = kafka.admin();
  await admin.connect();
  await createTestTopics(admin, names.topics, 3);
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
  const verdicts: Awaited<ReturnType<typeof collectVerdicts>>['events'] = [];
  const createVerdictsTopic = async () => {
    await admin.createTopics({ topics: [{ topic: verdictsTopic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
    cleanups.push((await collectVerdicts(kafka, verdictsTopic, verdicts)).stop);
  };
  if (options.verdictsTopic !== false) await createVerdictsTopic();
  return { names, admin, verdictsTopic, document, topology, state, verdicts, createVerdictsTopic };
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
    // The same audit trail from the command line.
    const topologyFile = writeTopology(world.document);
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, ['bin/driftwatch.js', 'verdicts', '--topology', topologyFile, ...args]);
    const listed = JSON.parse((await cli('--json')).stdout) as { verdict_id: string; decision: string; published_at: number }[];
    expect(listed.map((v) => [v.verdict_id, v.decision])).toEqual([[verdict.verdict_id, 'rollback']]);
    expect((await cli('--predictor', 'other')).stdout.trim()).toBe('no verdicts kept');
    expect((await cli()).stdout).toContain(`ROLLBACK eta/eta-v2 (canary) vs eta-v1  by accuracy`);
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

/** Exact pair statistics of what was produced: per shadow model, its answers beside its primary's on the same requests. */
function exactPairs(events: readonly PredictionEvent[]) {
  const primaries = new Map<string, PredictionEvent>();
  for (const event of events) if (event.role === 'primary' && event.request_id) primaries.set(event.request_id, event);
  const byShadow = new Map<string, { x: (number | string)[]; y: (number | string)[] }>();
  for (const event of events) {
    if (event.role !== 'shadow' || !event.request_id || event.prediction === null) continue;
    const primary = primaries.get(event.request_id);
    if (!primary || primary.prediction === null) continue;
    let pairs = byShadow.get(event.model_id);
    if (!pairs) byShadow.set(event.model_id, (pairs = { x: [], y: [] }));
    pairs.x.push(event.prediction);
    pairs.y.push(primary.prediction);
  }
  return byShadow;
}


describe.each(STATE_MODES)('comparisons (%s Redis): shadows paired with their primary by request_id', (mode) => {
  it('agreement, mean absolute difference and rank correlation within ±0.01 of the exact values; the shadow disagreeing 30 % of the time is rolled back by a rule on agreement', async () => {
    const world = await setup(mode, 'shadows', {
      evaluation: { tick: '2s', lease: '10s' },
      labels: { enabled: false },
      comparisons: { min_duration: '10m', rules: [{ name: 'shadow-agreement', statistic: 'agreement', below: 0.9, match: { role: 'shadow' } }] },
    });
    await startInProcessWorker(world.topology, `w-${world.names.suffix}`);
    const started = Date.now();
    const produced: PredictionEvent[] = [];
    const traffic = (predictor: string, seed: number, shadows: DeploymentSpec[], classes?: string[]): TrafficSpec => ({
      ...DEFAULT_TRAFFIC,
      seed,
      predictor,
      numericFeatures: 2,
      categoricalFeatures: 1,
      ...(classes ? { classes } : {}),
      deployments: shadows,
    });
    const run = (spec: TrafficSpec) =>
      produceTraffic({ brokers: ENDPOINTS.brokers, registryUrl: ENDPOINTS.registryUrl, topic: world.names.topics.predictions, encoding: 'mixed', rate: 50, durationMs: 50_000, spec, onEvent: (event) => void produced.push(event) });
    await Promise.all([
      run(traffic('clf', 51, [{ model: 'clf-s1', role: 'shadow', disagreement: 0.02 }, { model: 'clf-s2', role: 'shadow', disagreement: 0.3 }], CLASSES)),
      run(traffic('reg', 52, [{ model: 'reg-s1', role: 'shadow', noise: 0.05 }])),
    ]);
    const verdict = await waitFor('the agreement rollback', async () => world.verdicts[0], 30_000, 250);

    // Once everything produced is in, the pairs in Redis are every pair produced.
    const exact = exactPairs(produced);
    const pairsOf = async (model: string, baseline: string) => (await world.state.windows.pairs(modelKey(model.split('-')[0]!, model), 'fine', started - 120_000, Date.now() + 60_000)).byBaseline.get(modelKey(baseline.split('-')[0]!, baseline));
    const all = await waitFor(
      'every pair to be joined',
      async () => {
        const found = await Promise.all([pairsOf('clf-s1', 'clf-v1'), pairsOf('clf-s2', 'clf-v1'), pairsOf('reg-s1', 'reg-v1')]);
        return found.every((stats, i) => stats && stats.pairs === exact.get(['clf-s1', 'clf-s2', 'reg-s1'][i]!)!.x.length) ? found : undefined;
      },
      60_000,
      500,
    );
    const agreement = (x: readonly (number | string)[], y: readonly (number | string)[]) => x.filter((value, i) => value === y[i]).length / x.length;
    const report: Record<string, [number, number]> = {};
    for (const [i, model] of ['clf-s1', 'clf-s2'].entries()) {
      const truth = exact.get(model)!;
      report[`${model} agreement`] = [all[i]!.agree / all[i]!.classPairs, agreement(truth.x, truth.y)];
    }
    const reg = exact.get('reg-s1')!;
    const [x, y] = [reg.x as number[], reg.y as number[]];
    report['reg-s1 mean_abs_difference'] = [all[2]!.sumAbs / all[2]!.numeric, x.reduce((sum, value, i) => sum + Math.abs(value - y[i]!), 0) / x.length];
    report['reg-s1 rank_correlation'] = [all[2]!.rankCorrelation()!, spearman(x, y)];
    console.log(`pairs ${JSON.stringify(Object.fromEntries([...exact].map(([model, pairs]) => [model, pairs.x.length])))}; measured vs exact ${JSON.stringify(report)}`);
    for (const [measured, truth] of Object.values(report)) expect(Math.abs(measured - truth)).toBeLessThanOrEqual(0.01);
    expect(report['clf-s1 agreement']![1]).toBeGreaterThan(0.95);
    expect(report['clf-s2 agreement']![1]).toBeLessThan(0.75);

    // The comparison state the evaluator keeps says the same, with its confidence sequence.
    await sleep(5000);
    const s1 = JSON.parse((await world.state.comparisons.read(modelKey('clf', 'clf-s1'))).state!) as StoredComparison;
    expect(s1).toMatchObject({ state: 'running', baseline: 'clf-v1', role: 'shadow' });
    expect(Math.abs(s1.statistics.agreement!.value - report['clf-s1 agreement']![1])).toBeLessThanOrEqual(0.01);
    expect(s1.statistics.agreement!.lower).toBeGreaterThan(0.9);
    expect(s1.rules.find((rule) => rule.name === 'shadow-agreement')!.state).toBe('ok');

    console.log(`agreement rollback after ${verdict.evidence['agreement.samples']} pairs, ${((verdict.decided_at - started) / 1000).toFixed(1)} s: ${verdict.reason}`);
    expect(world.verdicts).toHaveLength(1);
    expect(verdict).toMatchObject({ decision: 'rollback', predictor_name: 'clf', candidate_model_id: 'clf-s2', candidate_role: 'shadow', baseline_model_id: 'clf-v1', trigger: 'shadow-agreement' });
    expect(verdict.evidence['agreement.upper']).toBeLessThan(0.9);
  }, 240_000);
});

describe.each(STATE_MODES)('comparisons (%s Redis): a verdict outlives its evaluator', (mode) => {
  it('the worker holding the canary\'s lease is killed -9 before it publishes the verdict: still exactly one verdict', async () => {
    // The verdicts topic does not exist yet (the broker creates none on use): a verdict can be decided
    // and stored, not published, and its evaluator waits in its producer's retries.
    const world = await setup(mode, 'verdict-kill', { evaluation: { tick: '2s', lease: '8s' }, comparisons: { min_duration: '10m' } }, { verdictsTopic: false });
    const workers = new WorkerProcesses();
    cleanups.push(async () => workers.killAll());
    const topologyFile = writeTopology(world.document);
    const ids = ['k1', 'k2'];
    for (const id of ids) workers.start(topologyFile, id);
    produce(world.names.topics, canaryTraffic(61, [{ model: 'eta-v2', role: 'canary', share: 0.1, accuracy: 0.6 }]), 100, 200_000);

    const key = modelKey('eta', 'eta-v2');
    const stored = await waitFor('the verdict decided and stored', async () => (await world.state.comparisons.read(key)).verdict ?? undefined, 150_000, 200);
    const seenAt = Date.now();
    const raw = rawRedis(mode);
    const holder = await raw.get(world.state.keys.model(key).lease);
    await raw.quit();
    expect(stored.publishedAt).toBeNull();
    const decided = JSON.parse(stored.event) as VerdictEvent;
    const victim = workers.all[ids.indexOf(holder ?? '')];
    expect(victim, `lease holder ${holder}`).toBeDefined();
    victim!.kill('SIGKILL');
    const killedAt = Date.now();
    await world.createVerdictsTopic();

    const verdict = await waitFor('the verdict on the topic', async () => world.verdicts[0], 120_000, 250);
    const publishedAfterS = (Date.now() - killedAt) / 1000;
    await sleep(10_000);
    console.log(
      `kill -9 of ${holder} with its verdict unpublished (seen in Redis ${((seenAt - decided.decided_at) / 1000).toFixed(1)} s after its tick began): published by the other worker ${publishedAfterS.toFixed(1)} s after the kill`,
    );
    expect(world.verdicts).toHaveLength(1);
    expect(verdict).toMatchObject({ verdict_id: decided.verdict_id, decision: 'rollback', candidate_model_id: 'eta-v2', decided_at: decided.decided_at, reason: decided.reason });
    expect((await world.state.comparisons.read(key)).verdict!.publishedAt).toBeGreaterThan(decided.decided_at);
  }, 300_000);
});

describe.each(STATE_MODES)('comparisons (%s Redis): an equal canary on the simulated clock', (mode) => {
  it('a canary equal to its primary is not rolled back in one hour of simulated traffic (a tick every 10 s)', async () => {
    const MINUTE = 60_000;
    const world = await setup(mode, 'canary-equal', { comparisons: { promote: false } });
    // Simulated time: the hour before now. Ingest and evaluation read this clock; each simulated minute
    // is produced, consumed, then evaluated at its six ticks.
    let now = Math.floor(Date.now() / MINUTE) * MINUTE - 62 * MINUTE;
    const clock = () => now;
    const logger = createLogger('comparisons-test', 'warn');
    const ingest = await startWorker({ topology: world.topology, logger, registry: createRegistry(false), workerId: `ingest-${world.names.suffix}`, evaluate: false, clock });
    cleanups.push(() => ingest.stop());
    await waitFor('the worker to join its group', async () => (ingest.ready() ? true : undefined), 60_000);
    const evaluator = buildWorker({ topology: world.topology, logger, registry: createRegistry(false), workerId: `eval-${world.names.suffix}`, clock });
    await evaluator.producer.connect();
    cleanups.push(async () => {
      await evaluator.producer.disconnect();
      await evaluator.state.close();
    });
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const generator = new TrafficGenerator(canaryTraffic(71, [{ model: 'eta-v2', role: 'canary', share: 0.1 }]));
    const labeler = new LabelGenerator({ seed: 72, accuracy: 0.9, noise: 0, delayMs: { min: 5000, max: 5000 } });
    const RATE = 20;
    let waiting: LabelEvent[] = [];
    const started = Date.now();
    const states = new Map<string, number>();
    for (let minute = 0; minute < 60; minute++) {
      const from = now;
      now += MINUTE;
      const events: PredictionEvent[] = [];
      for (let i = 0; i < RATE * 60; i++) events.push(...generator.nextRequest(from + Math.floor((i * 1000) / RATE), 0));
      waiting.push(...events.flatMap((event) => labeler.label(event) ?? []));
      const due = waiting.filter((label) => label.observed_at <= now);
      waiting = waiting.filter((label) => label.observed_at > now);
      await producer.send({ topic: world.names.topics.predictions, messages: events.map((event) => ({ key: event.prediction_id, value: encodeJson(event) })) });
      await producer.send({ topic: world.names.topics.labels, messages: due.map((label) => ({ key: label.prediction_id, value: encodeLabelJson(label) })) });
      for (const topic of [world.names.topics.predictions, world.names.topics.labels]) {
        await waitFor(`${topic} consumed`, async () => ((await groupLag(world.admin, world.topology.sources.group_id, topic)) === 0 ? true : undefined), 60_000, 100);
      }
      for (let tick = 5; tick >= 0; tick--) await evaluator.evaluation!.tick(now - tick * 10_000);
      const stored = JSON.parse((await world.state.comparisons.read(modelKey('eta', 'eta-v2'))).state ?? '{"state":"none"}') as StoredComparison;
      states.set(stored.state, (states.get(stored.state) ?? 0) + 1);
    }
    const final = JSON.parse((await world.state.comparisons.read(modelKey('eta', 'eta-v2'))).state!) as StoredComparison;
    const accuracy = final.statistics.accuracy_difference!;
    console.log(
      `equal canary, 1 simulated hour (${((Date.now() - started) / 1000).toFixed(0)} s): ${final.samples.candidate.labeled} canary labels, accuracy difference ${accuracy.value.toFixed(4)} [${accuracy.lower!.toFixed(4)}, ${accuracy.upper!.toFixed(4)}], error-rate difference ${final.statistics.error_rate_difference!.value.toFixed(4)}; states per simulated minute ${JSON.stringify(Object.fromEntries(states))}`,
    );
    expect(world.verdicts).toEqual([]);
    expect((await world.state.comparisons.read(modelKey('eta', 'eta-v2'))).verdict).toBeNull();
    expect(final).toMatchObject({ state: 'running', baseline: 'eta-v1' });
    expect(final.samples.candidate.labeled).toBeGreaterThan(6000);
    expect(final.progress.started_at).toBeLessThan(now - 58 * MINUTE);
    expect(accuracy.lower!).toBeGreaterThan(-0.02);
    expect(final.rules.map((rule) => `${rule.name}:${rule.state}`)).toEqual(["error-rate:ok", "latency-p99:ok"]);
  }, 600_000);
});
