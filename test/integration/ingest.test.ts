import { setTimeout as sleep } from 'node:timers/promises';
import avro from 'avsc';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confluentHeader } from '../../src/decode/index.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { encodeAvro, encodeJson, predictionType } from '../../src/produce/encode.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../src/produce/traffic.ts';
import { buildStatus } from '../../src/report/status.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { createTestTopics, groupLag, schemaIdFor, STATE_MODES, testKafka, testNames, testTopology, testTopologyDocument, uniqueName, waitFor, WorkerProcesses, writeTopology } from '../kit/index.ts';

const TOTAL_VALID = 100_000;
const CHUNKS = 20;

interface Truth {
  perModel: Map<string, number>;
  nulls: Map<string, number>;
  defaults: Map<string, number>;
  n0: number[];
}

describe.each(STATE_MODES)('ingest (%s Redis): stateless workers, exactly-once counts', (mode) => {
  const names = testNames(`ingest-${mode}`);
  const { predictions: topic, dlq: dlqTopic } = names.topics;
  const groupId = names.group;
  const sections = { sources: { start_from: 'earliest', session_timeout: '6s' } };
  const kafka = testKafka();
  const workers = new WorkerProcesses();
  let admin: Admin;
  let producer: Producer;
  let state: SummaryState;

  let topologyFile: string;
  const startWorker = (id: string) => workers.start(topologyFile, id);

  beforeAll(async () => {
    topologyFile = writeTopology(testTopologyDocument(names, mode, sections));
    admin = kafka.admin();
    await admin.connect();
    await createTestTopics(admin, names.topics, 3);
    producer = kafka.producer();
    await producer.connect();
    state = openTopologyState(testTopology(names, mode, sections));
  });

  afterAll(async () => {
    workers.killAll();
    await producer?.disconnect();
    await admin?.deleteTopics({ topics: Object.values(names.topics) }).catch(() => undefined);
    await admin?.disconnect();
    await state?.admin.purge();
    await state?.close();
  });

  it('counts every valid event exactly once across a kill -9, and dead-letters every invalid one with its reason', async () => {
    const schemaId = await schemaIdFor(names.topics.predictions);
    const type = predictionType();
    const generator = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed: 42, models: 4, missingRate: 0.03, defaultRate: 0.05 });
    const truth: Truth = { perModel: new Map(), nulls: new Map(), defaults: new Map(), n0: [] };
    const record = (event: PredictionEvent) => {
      truth.perModel.set(event.model_id, (truth.perModel.get(event.model_id) ?? 0) + 1);
      for (const [name, value] of Object.entries(event.features)) {
        if (value === null) truth.nulls.set(name, (truth.nulls.get(name) ?? 0) + 1);
      }
      for (const name of event.default_values_used) truth.defaults.set(name, (truth.defaults.get(name) ?? 0) + 1);
      const n0 = event.features['n0'];
      if (typeof n0 === 'number') truth.n0.push(n0);
    };

    // Invalid messages, each with the reason it must be dead-lettered for.
    const now = Date.now();
    const valid = generator.next(now, 0);
    const nanType = avro.Type.forSchema(type.schema() as avro.Schema);
    const invalid: { value: Buffer; code: string }[] = [
      { value: Buffer.from([0xff, 0x01, 0x02]), code: 'DW_ERR_DECODE' },
      { value: Buffer.concat([confluentHeader(987_654), type.toBuffer(valid)]), code: 'DW_ERR_SCHEMA_UNKNOWN' },
      { value: Buffer.from(JSON.stringify({ ...valid, model_id: undefined })), code: 'DW_ERR_VALIDATION' },
      { value: Buffer.concat([confluentHeader(schemaId), nanType.toBuffer({ ...valid, features: { n0: Number.NaN } })]), code: 'DW_ERR_VALUE' },
      { value: encodeJson({ ...valid, sent_at: now + 3_600_000 }), code: 'DW_ERR_TIME' },
      { value: Buffer.from('{"prediction_id": "x", '), code: 'DW_ERR_DECODE' },
    ];

    startWorker('w1');
    startWorker('w2');
    const perChunk = TOTAL_VALID / CHUNKS;
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      const messages = [];
      for (let i = 0; i < perChunk; i++) {
        const event = generator.next(Date.now(), 0);
        record(event);
        const value = i % 2 === 0 ? encodeAvro(type, schemaId, event) : encodeJson(event);
        messages.push({ key: event.prediction_id, value });
      }
      if (chunk === 3) messages.push(...invalid.map(({ value }, i) => ({ key: `bad-${i}`, value, headers: { origin: 'test' } })));
      await producer.send({ topic, messages });
      if (chunk === 8) {
        // Mid-stream, once both workers are writing state: one dies without a chance to flush or
        // commit, and a new one joins.
        await waitFor('state to be written', async () => {
          const totals = await Promise.all((await state.windows.models()).map((model) => state.windows.totals(model.key)));
          return totals.reduce((sum, total) => sum + total.count, 0) >= 4 * perChunk ? true : undefined;
        });
        workers.all[0]!.kill('SIGKILL');
        startWorker('w3');
      }
      await sleep(150);
    }

    await waitFor('the group to catch up', async () => ((await groupLag(admin, groupId, topic)) === 0 ? true : undefined), 120_000, 500);

    {
      const reader = new ModelReader(state, testTopology(names, mode, sections), { cacheReferences: false });
      const status = await buildStatus(state, reader, Date.now() + 1, { name: '30m', duration: 30 * 60_000 });
      expect(status.models.map((m) => m.model_id).sort()).toEqual([...truth.perModel.keys()].sort());
      let modelsTotal = 0;
      for (const model of status.models) {
        const produced = truth.perModel.get(model.model_id)!;
        expect(model.count_total, `count_total of ${model.model_id}`).toBe(produced);
        expect(model.window.count).toBe(produced);
        for (const [name, feature] of Object.entries(model.features)) {
          expect(feature.count_total, `count_total of ${model.model_id}/${name}`).toBe(produced);
        }
        modelsTotal += model.count_total;
      }
      expect(modelsTotal).toBe(TOTAL_VALID);

      // Missing and default rates over all models, from the exact per-model counts.
      for (const name of ['n0', 'n7', 'c2']) {
        const missing = status.models.reduce((sum, m) => sum + m.features[name]!.missing_rate! * m.window.count, 0);
        expect(Math.round(missing)).toBe(truth.nulls.get(name) ?? 0);
      }
      const defaults = status.models.reduce((sum, m) => sum + m.features['n3']!.default_rate! * m.window.count, 0);
      expect(Math.round(defaults)).toBe(truth.defaults.get('n3'));

      // Quantiles of n0 for one model against the exact quantiles of what was produced (all models
      // share n0's distribution, so compare each model's digest with the pooled exact ranks).
      const sorted = Float64Array.from(truth.n0).sort();
      const rankOf = (x: number) => {
        let lo = 0;
        let hi = sorted.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (sorted[mid]! < x) lo = mid + 1;
          else hi = mid;
        }
        return lo / sorted.length;
      };
      const q = status.models[0]!.features['n0']!.quantiles!;
      // Sampling error of one model's quarter of the data dominates the digest's error here.
      expect(Math.abs(rankOf(q.p50) - 0.5)).toBeLessThan(0.01);
      expect(Math.abs(rankOf(q.p90) - 0.9)).toBeLessThan(0.01);
      expect(Math.abs(rankOf(q.p99) - 0.99)).toBeLessThan(0.005);

      expect(status.dead_letters).toEqual(
        invalid.reduce<Record<string, number>>((counts, { code }) => ({ ...counts, [code]: (counts[code] ?? 0) + 1 }), {}),
      );
    }

    // Every invalid message is on the DLQ with its original bytes, headers and reason.
    const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
    await consumer.connect();
    await consumer.subscribe({ topics: [dlqTopic], fromBeginning: true });
    const letters = new Map<string, { code: string; value: Buffer | null; origin: string; reason: string }>();
    await consumer.run({
      eachMessage: async ({ message }) => {
        const header = (name: string) => message.headers?.[name]?.toString() ?? '';
        letters.set(message.key!.toString(), { code: header('dw.error_code'), value: message.value, origin: header('origin'), reason: header('dw.reason') });
      },
    });
    await waitFor('dead letters', async () => (letters.size >= invalid.length ? true : undefined), 30_000);
    await consumer.disconnect();
    invalid.forEach(({ value, code }, i) => {
      const letter = letters.get(`bad-${i}`);
      expect(letter?.code, `dead letter bad-${i}`).toBe(code);
      expect(letter?.value?.equals(value)).toBe(true);
      expect(letter?.origin).toBe('test');
      expect(letter?.reason.length).toBeGreaterThan(10);
    });
  });
});
