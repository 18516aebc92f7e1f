import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/topology.ts';
import { startWorker, type Worker } from '../../src/pipeline.ts';
import { parseDriftStep } from '../../src/produce/drift-spec.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC, type TrafficSpec } from '../../src/produce/traffic.ts';
import { buildStatus, type StatusReport } from '../../src/report/status.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { ENDPOINTS, createTopics, loadGeneratedBaselines, testKafka, uniqueName, waitFor, writeTopology } from '../kit/index.ts';

const BROKERS = ENDPOINTS.brokers;
const REDIS_URL = ENDPOINTS.redisUrl;
const REGISTRY_URL = ENDPOINTS.registryUrl;

type Schema = Record<string, unknown>;

/**
 * The published schema, made strict: every object that lists its properties admits no other. Consumers
 * get the lenient one (fields may be added); this test fails when the output has a field the schema
 * does not document.
 */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Schema = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, strict(value)]));
  if ('properties' in copy && !('additionalProperties' in copy)) copy['additionalProperties'] = false;
  return copy;
}

const SCHEMA = JSON.parse(readFileSync('schemas/status.schema.json', 'utf8')) as Schema;

function validator(schema: unknown) {
  const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(schema as Schema);
  return (document: unknown): string[] => (validate(document) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`));
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['bin/driftwatch.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('driftwatch status against a worker', () => {
  const suffix = uniqueName('status');
  const topics = { predictions: `predictions-${suffix}`, labels: `labels-${suffix}`, alerts: `alerts-${suffix}`, dlq: `dlq-${suffix}` };
  const prefix = `test:${suffix}`;
  const document = {
    sources: {
      brokers: BROKERS,
      group_id: `group-${suffix}`,
      registry_url: REGISTRY_URL,
      predictions: { topics: [topics.predictions] },
      labels: { topics: [topics.labels] },
      start_from: 'earliest',
    },
    state: { redis_url: REDIS_URL, key_prefix: prefix, retention: { fine: { bucket: '5s', keep: '1h' } } },
    windows: { current: [{ name: '30s', duration: '30s' }] },
    evaluation: { tick: '1s' },
    labels: { retry_interval: '500ms' },
    sinks: { alerts_topic: topics.alerts, dlq_topic: topics.dlq, metrics: { port: 0, host: '127.0.0.1' } },
  };
  const topology = parseTopology(document);
  const topologyFile = writeTopology(document);
  const kafka = testKafka();
  const admin = kafka.admin();
  const eta: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 11, predictor: 'eta', models: 2, classes: ['fast', 'slow', 'late'] };
  const fraud: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 12, predictor: 'fraud', models: 1, numericFeatures: 3, categoricalFeatures: 1 };
  const sent = new Map<string, number>();
  let store: SummaryState;
  let worker: Worker;

  beforeAll(async () => {
    await admin.connect();
    await createTopics(admin, [
      { topic: topics.predictions, numPartitions: 2 },
      { topic: topics.labels, numPartitions: 2 },
      { topic: topics.alerts, numPartitions: 1 },
      { topic: topics.dlq, numPartitions: 1 },
    ]);
    store = openTopologyState(topology);
    await loadGeneratedBaselines(store, eta, 5000);
    worker = await startWorker({ topology, logger: createLogger('status-test', 'warn'), registry: createRegistry(false), workerId: `w-${suffix}` });
    const count = (event: { predictor_name: string; model_id: string }) => sent.set(`${event.predictor_name}/${event.model_id}`, (sent.get(`${event.predictor_name}/${event.model_id}`) ?? 0) + 1);
    // eta: two classifiers with labels and a drifted feature (a firing alert); fraud: a little JSON traffic.
    await Promise.all([
      produceTraffic({
        brokers: BROKERS,
        registryUrl: REGISTRY_URL,
        topic: topics.predictions,
        encoding: 'mixed',
        rate: 400,
        durationMs: 15_000,
        spec: { ...eta, drift: [parseDriftStep('n2:mean+2sd@2s')] },
        labels: { topic: topics.labels, spec: { seed: 11, accuracy: 0.8, noise: 0.1, delayMs: { min: 200, max: 1000 } } },
        onEvent: count,
      }),
      produceTraffic({ brokers: BROKERS, registryUrl: REGISTRY_URL, topic: topics.predictions, encoding: 'json', rate: 0, count: 700, spec: fraud, onEvent: count }),
    ]);
    const reader = new ModelReader(store, topology, { cacheReferences: false });
    await waitFor(
      'every event counted, labels joined and an alert firing',
      async () => {
        const status = await buildStatus(store, reader, Date.now(), { name: '5m', duration: 300_000 });
        const counted = status.models.every((model) => model.count_total === sent.get(`${model.predictor_name}/${model.model_id}`));
        const labeled = status.models.filter((model) => (model.performance.labeled_total ?? 0) > 0).length === 2;
        return status.models.length === 3 && counted && labeled && status.alerts.some((alert) => alert.state === 'firing') ? true : undefined;
      },
      90_000,
      500,
    );
  }, 180_000);

  afterAll(async () => {
    await worker?.stop();
    await store?.admin.purge();
    await store.close();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  });

  it('--json is version 1 and valid against schemas/status.schema.json, every field documented', () => {
    const result = cli(['status', '--json', '--topology', topologyFile, '--window', '5m']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report.version).toBe(1);
    expect(report.source).toEqual({ redis: REDIS_URL, key_prefix: prefix, topology: topologyFile });
    expect(report.models_total).toBe(3);
    expect(report.window_ms).toBe(300_000);
    expect(validator(strict(SCHEMA))(report)).toEqual([]);
    // What the schema is made to check: firing alerts, classification performance with per-class metrics.
    expect(report.alerts.some((alert) => alert.state === 'firing' && alert.feature === 'n2')).toBe(true);
    const classifier = report.models.find((model) => model.predictor_name === 'eta');
    expect(classifier?.performance.per_class?.['fast']).toBeDefined();
    expect(Object.keys(classifier?.features ?? {})).toHaveLength(20);
  });

  it('the schema rejects a document that breaks the contract', () => {
    const result = cli(['status', '--json', '--topology', topologyFile, '--window', '5m']);
    const report = JSON.parse(result.stdout) as Record<string, unknown> & { models: Record<string, unknown>[] };
    const validate = validator(SCHEMA);
    expect(validate({ ...report, version: 2 })).not.toEqual([]);
    expect(validate({ ...report, models: [{ ...report.models[0], count_total: 'many' }] })).not.toEqual([]);
    const { generated_at: _dropped, ...withoutTime } = report;
    expect(validate(withoutTime)).not.toEqual([]);
    // Added fields are allowed to consumers (the contract grows), not to this repository's own output.
    expect(validate({ ...report, later_field: 1 })).toEqual([]);
    expect(validator(strict(SCHEMA))({ ...report, later_field: 1 })).not.toEqual([]);
  });

  it('--predictor/--model keep the matching models (globs), with their exact counts and their alerts only', () => {
    const run = (...args: string[]) => JSON.parse(cli(['status', '--json', '--topology', topologyFile, '--window', '5m', ...args]).stdout) as StatusReport;
    const models = (report: StatusReport) => report.models.map((model) => `${model.predictor_name}/${model.model_id}`).sort();
    const fraudOnly = run('--predictor', 'fraud');
    expect(models(fraudOnly)).toEqual(['fraud/fraud-v1']);
    expect(fraudOnly.models[0]?.count_total).toBe(700);
    expect(fraudOnly.alerts).toEqual([]);
    expect(fraudOnly).toMatchObject({ models_total: 3, filter: { predictor: 'fraud' } });
    const v2 = run('--predictor', 'e?a', '--model', '*-v2');
    expect(models(v2)).toEqual(['eta/eta-v2']);
    expect(v2.models[0]?.count_total).toBe(sent.get('eta/eta-v2'));
    expect(new Set(v2.alerts.map((alert) => alert.model_id))).toEqual(new Set(['eta-v2']));
    expect(run('--predictor', 'nothing*').models).toEqual([]);
  });

  it('the text view says where it read from and what the filters kept', () => {
    const result = cli(['status', '--topology', topologyFile, '--predictor', 'eta']);
    expect(result.status).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[1]).toBe(`source: ${REDIS_URL}  key prefix "${prefix}"  topology ${topologyFile}`);
    expect(lines[2]).toBe('2 of 3 models match --predictor eta');
    expect(result.stdout).toMatch(/^eta \/ eta-v1 \(primary\) {2}total \d+/m);
    expect(result.stdout).not.toContain('fraud');

    const wrongPrefix = writeTopology({ ...document, state: { ...document.state, key_prefix: `${prefix}-typo` } });
    const empty = cli(['status', '--topology', wrongPrefix]);
    expect(empty.stdout).toContain(`key prefix "${prefix}-typo"`);
    expect(empty.stdout).toContain('no models seen yet under this key prefix');
  });

  it('--watch refreshes until Ctrl-C; with --json one valid document per line', async () => {
    const child = spawn(process.execPath, ['bin/driftwatch.js', 'status', '--topology', topologyFile, '--json', '--watch', '1s', '--predictor', 'fraud'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor('three refreshes', async () => (stdout.split('\n').filter((line) => line !== '').length >= 3 ? true : undefined), 30_000, 100);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const documents = stdout.trim().split('\n').map((line) => JSON.parse(line) as StatusReport);
    const validate = validator(strict(SCHEMA));
    for (const report of documents) expect(validate(report)).toEqual([]);
    const times = documents.map((report) => report.generated_at);
    expect(times[2]! - times[0]!).toBeGreaterThanOrEqual(1900);
    expect(documents.every((report) => report.models[0]?.count_total === 700)).toBe(true);
  });
});
