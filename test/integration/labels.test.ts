import { setTimeout as sleep } from 'node:timers/promises';
import type avro from 'avsc';
import type { Admin, Producer } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import type { LabeledPrediction } from '../../src/aggregate/index.ts';
import { inJoinSample } from '../../src/join/index.ts';
import type { Topology } from '../../src/config/topology.ts';
import type { LabelEvent, PredictionEvent } from '../../src/events.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import { startWorker, type Worker } from '../../src/pipeline.ts';
import { encodeAvro, encodeJson, predictionType } from '../../src/produce/encode.ts';
import { encodeLabelAvro, encodeLabelJson, LabelGenerator, labelType } from '../../src/produce/labels.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import { buildStatus, type StatusReport } from '../../src/report/status.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import { decodeAlertEvent } from '../../src/sinks/alerts.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { exactClassification, exactRegression } from '../kit/exact-performance.ts';
import { createTestTopics, groupLag, rawRedis, schemaIdFor, scanKeys, STATE_MODES, testKafka, testNames, testTopology, uniqueName, waitFor, type StateMode } from '../kit/index.ts';

/** One test's world: its own topics, group, key prefix and an in-process worker. */
interface Harness {
  topology: Topology;
  topics: { predictions: string; labels: string; dlq: string; alerts: string };
  admin: Admin;
  producer: Producer;
  state: SummaryState;
  worker: Worker;
  registry: ReturnType<typeof createRegistry>;
  sendPredictions(events: readonly PredictionEvent[]): Promise<void>;
  sendLabels(labels: readonly LabelEvent[]): Promise<void>;
  status(): Promise<StatusReport>;
}

const kafka = testKafka();
const open: Harness[] = [];
let schemaIds: { prediction: number; label: number } | undefined;
const types = { prediction: predictionType(), label: labelType() };

async function harness(mode: StateMode, name: string, document: Record<string, unknown>, evaluate = false): Promise<Harness> {
  const names = testNames(`${name}-${mode}`);
  const { topics } = names;
  const { labels = {}, sources = {}, ...rest } = document as { labels?: object; sources?: object };
  const topology = testTopology(names, mode, {
    ...rest,
    sources: { start_from: 'earliest', session_timeout: '6s', ...sources },
    labels: { retry_interval: '500ms', ...labels },
  });
  if (!schemaIds) {
    // A subject of the tests' own: the stack's predictions-value may hold another checkout's version.
    schemaIds = { prediction: await schemaIdFor('driftwatch-tests-predictions'), label: await schemaIdFor('driftwatch-tests-labels', 'label') };
  }
  const ids = schemaIds;
  const admin = kafka.admin();
  await admin.connect();
  await createTestTopics(admin, topics, 2);
  const producer = kafka.producer();
  await producer.connect();
  const registry = createRegistry(false);
  const worker = await startWorker({ topology, logger: createLogger('labels-test', 'warn'), registry, workerId: `w-${names.suffix}`, evaluate });
  const state = openTopologyState(topology);
  const reader = new ModelReader(state, topology, { cacheReferences: false });
  // Half Avro, half JSON: both encodings go through the same decode path.
  const encode = <T>(type: avro.Type, id: number, json: (value: T) => Buffer, avroOf: (type: avro.Type, id: number, value: T) => Buffer) => (value: T, i: number) =>
    i % 2 === 0 ? avroOf(type, id, value) : json(value);
  const predictionValue = encode(types.prediction, ids.prediction, encodeJson, encodeAvro);
  const labelValue = encode(types.label, ids.label, encodeLabelJson, encodeLabelAvro);
  const h: Harness = {
    topology,
    topics,
    admin,
    producer,
    state,
    worker,
    registry,
    sendPredictions: async (events) => {
      for (let i = 0; i < events.length; i += 2000) {
        const chunk = events.slice(i, i + 2000);
        await producer.send({ topic: topics.predictions, messages: chunk.map((event, j) => ({ key: event.prediction_id, value: predictionValue(event, i + j) })) });
      }
    },
    sendLabels: async (labels) => {
      for (let i = 0; i < labels.length; i += 2000) {
        const chunk = labels.slice(i, i + 2000);
        await producer.send({ topic: topics.labels, messages: chunk.map((label, j) => ({ key: label.prediction_id, value: labelValue(label, i + j) })) });
      }
    },
    status: () => buildStatus(state, reader, Date.now() + 1, { name: '30m', duration: 30 * 60_000 }),
  };
  open.push(h);
  await waitFor('the worker to join its group', async () => (worker.ready() ? true : undefined), 60_000);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.worker.stop().catch(() => undefined);
    await h.producer.disconnect();
    await h.admin.deleteTopics({ topics: Object.values(h.topics) }).catch(() => undefined);
    await h.admin.disconnect();
    await h.state.admin.purge();
    await h.state.close();
  }
});

const spec = (overrides: Partial<TrafficSpec>): TrafficSpec => ({ ...DEFAULT_TRAFFIC, numericFeatures: 2, categoricalFeatures: 1, errorRate: 0, ...overrides });
const generate = (generator: TrafficGenerator, n: number) => Array.from({ length: n }, () => generator.next(Date.now(), 0));
const caughtUp = (h: Harness, topic: string) =>
  waitFor(`${topic} to be consumed`, async () => ((await groupLag(h.admin, h.topology.sources.group_id, topic)) === 0 ? true : undefined), 60_000, 250);
const joined = (predictions: readonly PredictionEvent[], labels: readonly LabelEvent[]): LabeledPrediction[] => {
  const byId = new Map(predictions.map((event) => [event.prediction_id, event]));
  return labels.map((label) => {
    const event = byId.get(label.prediction_id)!;
    return { prediction: event.prediction!, scores: event.prediction_scores, label: label.label, delayMs: label.observed_at - event.sent_at };
  });
};

describe.each(STATE_MODES)('labels (%s Redis): joined to predictions, online performance', (mode) => {
  it('classifier and regressor: metrics within tolerance of the exact values of what was produced', async () => {
    const h = await harness(mode, 'perf', {});
    const classes = ['cat', 'dog', 'fox'];
    const classifier = new TrafficGenerator(spec({ seed: 5, predictor: 'clf', classes }));
    const regressor = new TrafficGenerator(spec({ seed: 6, predictor: 'reg' }));
    const clfPredictions = generate(classifier, 3000);
    const regPredictions = generate(regressor, 3000);
    await h.sendPredictions([...clfPredictions, ...regPredictions]);
    await caughtUp(h, h.topics.predictions);

    // Labels a few seconds "later": a known confusion (accuracy 0.8, wrong classes uniform) and regression noise.
    const labelsOf = new LabelGenerator({ seed: 8, accuracy: 0.8, noise: 0.05, delayMs: { min: 2000, max: 4000 }, classes });
    const clfTruth = clfPredictions.map((event) => labelsOf.label(event)!);
    const regTruth = regPredictions.map((event) => labelsOf.label(event)!);
    expect(clfTruth.length).toBe(3000);
    await h.sendLabels([...clfTruth, ...regTruth]);

    const status = await waitFor(
      'every label to be joined',
      async () => {
        const report = await h.status();
        // The window's own labeled count, not only labeled_total: status reads the totals and the
        // performance buckets in separate calls, so a poll can see the total before the buckets.
        const done = report.models.every((model) => model.performance.labeled_total === 3000 && model.performance.labeled === 3000);
        return report.models.length === 2 && done ? report : undefined;
      },
      60_000,
      500,
    );
    const clf = status.models.find((model) => model.predictor_name === 'clf')!.performance;
    const reg = status.models.find((model) => model.predictor_name === 'reg')!.performance;
    const exact = exactClassification(joined(clfPredictions, clfTruth));
    const regression = exactRegression(joined(regPredictions, regTruth));
    const report = {
      accuracy: [clf.accuracy, exact.accuracy],
      precision_macro: [clf.precision_macro, exact.precision_macro],
      recall_macro: [clf.recall_macro, exact.recall_macro],
      f1_macro: [clf.f1_macro, exact.f1_macro],
      auc: [clf.auc, exact.auc],
      log_loss: [clf.log_loss, exact.log_loss],
      mae: [reg.mae, regression.mae],
      rmse: [reg.rmse, regression.rmse],
      bias: [reg.bias, regression.bias],
    };
    console.log('measured vs exact', JSON.stringify(report));
    expect(Math.abs(clf.accuracy! - exact.accuracy)).toBeLessThan(0.005);
    expect(Math.abs(clf.precision_macro! - exact.precision_macro)).toBeLessThan(0.005);
    expect(Math.abs(clf.recall_macro! - exact.recall_macro)).toBeLessThan(0.005);
    expect(Math.abs(clf.f1_macro! - exact.f1_macro)).toBeLessThan(0.005);
    for (const c of classes) {
      expect(Math.abs(clf.per_class![c]!.precision - exact.precision[c]!)).toBeLessThan(0.005);
      expect(Math.abs(clf.per_class![c]!.recall - exact.recall[c]!)).toBeLessThan(0.005);
      expect(Math.abs(clf.per_class![c]!.f1 - exact.f1[c]!)).toBeLessThan(0.005);
    }
    expect(Math.abs(clf.auc! - exact.auc!)).toBeLessThan(0.01);
    expect(Math.abs(clf.log_loss! - exact.log_loss!)).toBeLessThan(1e-6);
    expect(clf.label_coverage).toBeCloseTo(1, 9);
    expect(clf.label_delay_ms!.p50).toBeGreaterThan(2000);
    expect(clf.label_delay_ms!.p50).toBeLessThan(4000);
    expect(clf.mae).toBeUndefined();
    expect(Math.abs(reg.mae! / regression.mae - 1)).toBeLessThan(0.01);
    expect(Math.abs(reg.rmse! / regression.rmse - 1)).toBeLessThan(0.01);
    expect(Math.abs(reg.bias! - regression.bias)).toBeLessThan(1e-6);
    expect(reg.accuracy).toBeUndefined();
    expect(status.labels?.outcomes).toEqual({ joined: 6000 });
  });

  it('labels before their predictions wait, duplicates count once, unknown, expired and unsampled ids are counted by reason', async () => {
    const h = await harness(mode, 'outcomes', { labels: { sample_rate: 0.5, wait_for_prediction: '3s' }, state: { label_join_ttl: '1h' } });
    const generator = new TrafficGenerator(spec({ seed: 21, predictor: 'outcomes', classes: ['yes', 'no'] }));
    const labeler = new LabelGenerator({ seed: 22, accuracy: 0.7, noise: 0, delayMs: { min: 100, max: 200 } });
    const sampled = (labels: readonly LabelEvent[]) => labels.filter((label) => inJoinSample(label.prediction_id, 0.5)).length;
    const outcomes = async () => (await h.state.windows.counters()).labels;

    // On time: predictions, then their labels.
    const onTime = generate(generator, 60);
    const onTimeLabels = onTime.map((event) => labeler.label(event)!);
    await h.sendPredictions(onTime);
    await caughtUp(h, h.topics.predictions);
    await h.sendLabels(onTimeLabels);
    await waitFor('on-time labels', async () => ((await outcomes())['joined'] === sampled(onTimeLabels) ? true : undefined), 30_000);

    // Early: labels first; once they wait, their predictions.
    const early = generate(generator, 40);
    const earlyLabels = early.map((event) => labeler.label(event)!);
    await h.sendLabels(earlyLabels);
    await waitFor('early labels to wait', async () => ((await outcomes())['pending'] === sampled(earlyLabels) ? true : undefined), 30_000);
    await h.sendPredictions(early);
    const joinedTotal = sampled(onTimeLabels) + sampled(earlyLabels);
    await waitFor('early labels to be joined', async () => ((await outcomes())['joined'] === joinedTotal ? true : undefined), 30_000);

    // Twice: the same labels again; unknown ids; labels observed before the join TTL; invalid labels.
    const duplicates = [...onTimeLabels.slice(0, 20), ...earlyLabels.slice(0, 10)];
    const unknown = Array.from({ length: 15 }, (_, i): LabelEvent => ({ prediction_id: `ghost-${i}`, label: 'yes', observed_at: Date.now() }));
    const expired = Array.from({ length: 8 }, (_, i): LabelEvent => ({ prediction_id: `old-${i}`, label: 'no', observed_at: Date.now() - 2 * 3_600_000 }));
    await h.sendLabels([...duplicates, ...unknown, ...expired]);
    await h.producer.send({
      topic: h.topics.labels,
      messages: [
        { key: 'bad-1', value: Buffer.from(JSON.stringify({ prediction_id: 'x', observed_at: Date.now() })) },
        { key: 'bad-2', value: Buffer.from(JSON.stringify({ prediction_id: 'x', label: 'yes', observed_at: Date.now() + 3_600_000 })) },
      ],
    });

    const expected = {
      joined: joinedTotal,
      pending: sampled(earlyLabels) + sampled(unknown),
      duplicate: sampled(duplicates),
      unknown: sampled(unknown),
      expired: sampled(expired),
      not_sampled: [onTimeLabels, earlyLabels, duplicates, unknown, expired].reduce((sum, labels) => sum + labels.length - sampled(labels), 0),
    };
    console.log('expected label outcomes', JSON.stringify(expected));
    const counted = await waitFor('unknown labels to give up waiting', async () => {
      const now = await outcomes();
      return now['unknown'] === expected.unknown ? now : undefined;
    });
    expect(counted).toEqual(expected);
    expect(await h.state.joins.pendingCount(await h.state.windows.partitions())).toBe(0);
    expect((await h.state.windows.counters()).dlq).toEqual({ DW_ERR_VALIDATION: 1, DW_ERR_TIME: 1 });

    // The worker's Prometheus counter says the same.
    const metric = await h.registry.getSingleMetric('driftwatch_labels_total')!.get();
    expect(Object.fromEntries(metric.values.map((value) => [value.labels['outcome'], value.value]))).toEqual(expected);
    const status = await h.status();
    expect(status.models[0]!.performance.labeled_total).toBe(joinedTotal);
    expect(status.labels).toEqual({ outcomes: expected, pending: 0 });

    // One join record per sampled prediction, in the join hashes; every labeled one claimed ("L", its label's source, the record).
    const raw = rawRedis(mode);
    const joinHashes = async () => {
      const fields = new Map<string, Buffer>();
      let bytes = 0;
      for (const key of await scanKeys(raw, `{${h.topology.state.key_prefix}|j|*`)) {
        for (const [id, record] of Object.entries(await raw.hgetallBuffer(key))) fields.set(id, record);
        bytes += Number(await raw.memory('USAGE', key, 'SAMPLES', 0));
      }
      return { fields, bytes };
    };
    const labeledIds = [...onTimeLabels, ...earlyLabels].filter((label) => inJoinSample(label.prediction_id, 0.5)).map((label) => label.prediction_id);
    const before = await joinHashes();
    expect(before.fields.size).toBe(labeledIds.length);
    expect(labeledIds.every((id) => before.fields.get(id)?.[0] === 0x4c && before.fields.get(id)!.length > 9)).toBe(true);
    const unlabeled = generate(generator, 200).filter((event) => inJoinSample(event.prediction_id, 0.5));
    await h.sendPredictions(unlabeled);
    await caughtUp(h, h.topics.predictions);
    const after = await joinHashes();
    expect(after.fields.size).toBe(labeledIds.length + unlabeled.length);
    expect(unlabeled.every((event) => (after.fields.get(event.prediction_id)?.length ?? 0) > 20)).toBe(true);
    expect(unlabeled.every((event) => after.fields.get(event.prediction_id)?.[0] !== 0x4c)).toBe(true);
    console.log(`join hashes: ${after.fields.size} records (${unlabeled.length} unlabeled with 2 class scores, the rest claimed) in ${after.bytes} bytes of MEMORY USAGE`);
    await raw.quit();
  });

  it('an accuracy-drop rule fires once when accuracy falls and resolves once when it recovers', async () => {
    const h = await harness(
      mode,
      'alert',
      {
        state: { retention: { fine: { bucket: '1s', keep: '10m' }, coarse: { bucket: '1m', keep: '1h' } } },
        windows: { current: [{ name: '5s', duration: '5s' }], reference: { kind: 'rolling', duration: '1m' } },
        evaluation: { tick: '1s', lease: '10s' },
        rules: {
          builtin: false,
          defaults: [{ name: 'accuracy-drop', target: 'model', statistic: 'accuracy', below: 0.8, clear: 0.85, min_samples: 300, window: '5s' }],
        },
      },
      true,
    );
    const generator = new TrafficGenerator(spec({ seed: 31, predictor: 'alerting', classes: ['a', 'b', 'c'] }));
    const labeler = new LabelGenerator({ seed: 32, accuracy: 0.95, noise: 0, delayMs: { min: 300, max: 300 } });
    // Accuracy by the time of the prediction: good, bad for 8 s, good again.
    const accuracyAt = (elapsed: number) => (elapsed >= 6000 && elapsed < 14_000 ? 0.6 : 0.95);
    const started = Date.now();
    const waiting: { event: PredictionEvent; elapsed: number }[] = [];
    while (Date.now() - started < 24_000) {
      const elapsed = Date.now() - started;
      const events = generate(generator, 30);
      waiting.push(...events.map((event) => ({ event, elapsed })));
      await h.sendPredictions(events);
      const due = waiting.filter((entry) => Date.now() - entry.event.sent_at >= 300);
      waiting.splice(0, due.length);
      await h.sendLabels(due.map(({ event, elapsed: at }) => labeler.label(event, accuracyAt(at))!));
      await sleep(100);
    }

    const consumer = kafka.consumer({ groupId: uniqueName('alerts-reader') });
    await consumer.connect();
    await consumer.subscribe({ topics: [h.topics.alerts], fromBeginning: true });
    const events: AlertEvent[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void (message.value && events.push(decodeAlertEvent(message.value))) });
    try {
      await waitFor('the alert to fire and resolve', async () => (events.some((event) => event.state === 'resolved') ? true : undefined), 30_000);
      await sleep(2000);
    } finally {
      await consumer.disconnect();
    }
    const mine = events.filter((event) => event.rule === 'accuracy-drop');
    console.log('alert events', JSON.stringify(mine.map((event) => ({ state: event.state, value: event.value, at: event.evaluated_at - started, samples: event.details['samples'] }))));
    expect(mine.map((event) => event.state)).toEqual(['firing', 'resolved']);
    expect(mine[0]!.id).toBe(mine[1]!.id);
    expect(mine[0]!.statistic).toBe('accuracy');
    expect(mine[0]!.value).toBeLessThan(0.8);
    expect(mine[1]!.value).toBeGreaterThanOrEqual(0.85);
    expect(mine[0]!.evaluated_at - started).toBeGreaterThan(6000);
    expect(mine[1]!.evaluated_at - started).toBeGreaterThan(14_000);
    expect(Number(mine[0]!.details['samples'])).toBeGreaterThanOrEqual(300);
  });
});
