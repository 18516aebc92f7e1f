import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import type { Admin } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { modelKey } from '../../src/aggregate/index.ts';
import { confluentHeader } from '../../src/decode/index.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { startWorker, type Worker } from '../../src/pipeline.ts';
import { encodeJson } from '../../src/produce/encode.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../src/produce/traffic.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { ensureSchemas } from '../../src/stack/registry.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { createTestTopics, ENDPOINTS, groupLag, STATE_MODES, testKafka, testNames, testTopology, waitFor } from '../kit/index.ts';

const kafka = testKafka();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

const V2_TEXT = readFileSync('schemas/prediction-log.avsc', 'utf8');
const V2 = JSON.parse(V2_TEXT) as { fields: { name: string }[] };
/** The prediction log as it was before request_id (version 1). */
const V1 = { ...V2, fields: V2.fields.filter((field) => field.name !== 'request_id') };

type Encoding = 'avro-v1' | 'avro-v2' | 'json' | 'json-without-request-id';
const ENCODINGS: readonly Encoding[] = ['avro-v1', 'avro-v2', 'json', 'json-without-request-id'];
const carriesRequestId = (encoding: Encoding) => encoding === 'avro-v2' || encoding === 'json';

describe.each(STATE_MODES)('schema evolution (%s Redis): prediction logs of version 1 and 2 on one topic', (mode) => {
  it('the stack registers version 2 under the same subject; producers on either version (and JSON with or without request_id) all decode and count, and pair where request_id is there', async () => {
    const names = testNames(`evolution-${mode}`);
    const subject = `${names.topics.predictions}-value`;
    const admin: Admin = kafka.admin();
    await admin.connect();
    await createTestTopics(admin, names.topics, 2);
    const topology = testTopology(names, mode, { sources: { start_from: 'earliest', session_timeout: '6s' }, labels: { enabled: false }, evaluation: { tick: '1s' } });
    const state = openTopologyState(topology);
    cleanups.push(async () => {
      await admin.deleteTopics({ topics: Object.values(names.topics) }).catch(() => undefined);
      await admin.disconnect();
      await state.admin.purge();
      await state.close();
    });

    // Version 1 is what the subject held; the stack's registration (src/stack/registry.ts) adds version 2.
    const dir = mkdtempSync(join(tmpdir(), 'dw-schemas-'));
    writeFileSync(join(dir, 'prediction-log-v1.avsc'), JSON.stringify(V1));
    const [v1] = (await ensureSchemas(dir, [{ subject, file: 'prediction-log-v1.avsc' }])).schemas;
    const [v2] = (await ensureSchemas('schemas', [{ subject, file: 'prediction-log.avsc' }])).schemas;
    expect([v1!.action, v2!.action]).toEqual(['registered', 'registered']);
    expect(v2!.id).not.toBe(v1!.id);
    const versions = (await (await fetch(`${ENDPOINTS.registryUrl}/subjects/${encodeURIComponent(subject)}/versions`)).json()) as number[];
    expect(versions).toHaveLength(2);
    // Registering again changes nothing.
    expect((await ensureSchemas('schemas', [{ subject, file: 'prediction-log.avsc' }])).schemas[0]!.action).toBe('exists');

    const worker: Worker = await startWorker({ topology, logger: createLogger('evolution-test', 'warn'), registry: createRegistry(false), workerId: `w-${names.suffix}` });
    cleanups.push(() => worker.stop());

    // A primary and a shadow answering the same requests; each message in one of four encodings.
    const generator = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed: 81, numericFeatures: 2, categoricalFeatures: 1, classes: ['a', 'b'], deployments: [{ model: 'eta-s1', role: 'shadow', disagreement: 0.1 }] });
    const types = { v1: avro.Type.forSchema(V1 as avro.Schema), v2: avro.Type.forSchema(V2 as avro.Schema) };
    const produced: { event: PredictionEvent; encoding: Encoding }[] = [];
    for (let r = 0; r < 800; r++) {
      for (const event of generator.nextRequest(Date.now(), 0)) produced.push({ event, encoding: ENCODINGS[(r + (event.role === 'shadow' ? Math.floor(r / 4) : 0)) % 4]! });
    }
    const encode = ({ event, encoding }: { event: PredictionEvent; encoding: Encoding }): Buffer => {
      if (encoding === 'avro-v1') {
        const { request_id: _dropped, ...old } = event;
        return Buffer.concat([confluentHeader(v1!.id), types.v1.toBuffer(old)]);
      }
      if (encoding === 'avro-v2') return Buffer.concat([confluentHeader(v2!.id), types.v2.toBuffer(event)]);
      if (encoding === 'json') return encodeJson(event);
      const { request_id: _none, ...plain } = event;
      return Buffer.from(JSON.stringify(plain));
    };
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await producer.send({ topic: names.topics.predictions, messages: produced.map((entry) => ({ key: entry.event.prediction_id, value: encode(entry) })) });
    await waitFor('every message consumed', async () => ((await groupLag(admin, topology.sources.group_id, names.topics.predictions)) === 0 ? true : undefined), 60_000);

    // Every message decoded and counted, none dead-lettered.
    const counters = await state.windows.counters();
    expect(counters.dlq).toEqual({});
    for (const model of ['eta-v1', 'eta-s1']) {
      expect((await state.windows.totals(modelKey('eta', model))).count).toBe(produced.filter(({ event }) => event.model_id === model).length);
    }
    // Pairs where both answers carried the request id.
    const byRequest = new Map<string, { primary?: (typeof produced)[number]; shadow?: (typeof produced)[number] }>();
    for (const entry of produced) {
      const request = byRequest.get(entry.event.request_id!) ?? {};
      request[entry.event.role === 'shadow' ? 'shadow' : 'primary'] = entry;
      byRequest.set(entry.event.request_id!, request);
    }
    const paired = [...byRequest.values()].filter(
      ({ primary, shadow }) => primary && shadow && carriesRequestId(primary.encoding) && carriesRequestId(shadow.encoding) && primary.event.prediction !== null && shadow.event.prediction !== null,
    ).length;
    const pairs = (await state.windows.pairs(modelKey('eta', 'eta-s1'), 'fine', Date.now() - 120_000, Date.now() + 60_000)).byBaseline.get(modelKey('eta', 'eta-v1'));
    console.log(`${produced.length} messages (${ENCODINGS.map((e) => `${e} ${produced.filter((p) => p.encoding === e).length}`).join(', ')}): all counted, ${paired} pairs expected, ${pairs?.pairs} found`);
    expect(paired).toBeGreaterThan(100);
    expect(pairs?.pairs).toBe(paired);
  }, 180_000);
});
