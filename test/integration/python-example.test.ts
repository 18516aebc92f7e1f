import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTopology } from '../../src/config/topology.ts';
import { startWorker, type Worker } from '../../src/pipeline.ts';
import { buildStatus } from '../../src/report/status.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import { stackPaths } from '../../src/stack/index.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { ENDPOINTS, createTopics, testKafka, uniqueName, waitFor } from '../kit/index.ts';

const BROKERS = ENDPOINTS.brokers;
const REDIS_URL = ENDPOINTS.redisUrl;
const REGISTRY_URL = ENDPOINTS.registryUrl;

const EXAMPLES = 'examples/python';
const REQUIREMENTS = join(EXAMPLES, 'requirements.txt');

/**
 * A virtualenv with examples/python/requirements.txt, under the stack directory and kept between runs:
 * rebuilt only when requirements.txt changes (a stamp holds its hash). PyPI is reached through pip.
 */
function pythonEnv(): string {
  const hash = createHash('sha256').update(readFileSync(REQUIREMENTS)).digest('hex').slice(0, 12);
  const dir = join(stackPaths().root, 'venvs', 'python-examples');
  const python = join(dir, 'bin', 'python');
  const stamp = join(dir, '.requirements-hash');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return python;
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { encoding: 'utf8', timeout: 300_000 });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.error?.message ?? ''}${result.stderr.slice(-2000)}`);
  };
  run('python3', ['-m', 'venv', '--clear', dir]);
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  writeFileSync(stamp, hash);
  return python;
}

describe('examples/python producers against the stack, counted by a worker', () => {
  const suffix = uniqueName('python');
  const topic = `predictions-${suffix}`;
  const prefix = `test:${suffix}`;
  const topology = parseTopology({
    sources: { brokers: BROKERS, group_id: `group-${suffix}`, registry_url: REGISTRY_URL, predictions: { topics: [topic] }, start_from: 'earliest' },
    state: { redis_url: REDIS_URL, key_prefix: prefix },
    labels: { enabled: false },
    sinks: { alerts_topic: `alerts-${suffix}`, dlq_topic: `dlq-${suffix}`, metrics: { port: 0, host: '127.0.0.1' } },
  });
  const admin = testKafka().admin();
  let python = '';
  let worker: Worker;
  let store: SummaryState;

  beforeAll(async () => {
    python = pythonEnv();
    await admin.connect();
    await createTopics(admin, [topic, `alerts-${suffix}`, `dlq-${suffix}`].map((name) => ({ topic: name, numPartitions: 2 })));
    worker = await startWorker({ topology, logger: createLogger('python-example-test', 'warn'), registry: createRegistry(false), workerId: `w-${suffix}` });
    store = openTopologyState(topology);
  }, 420_000);

  afterAll(async () => {
    await worker?.stop();
    await store?.admin.purge();
    await store?.close();
    await admin.deleteTopics({ topics: [topic, `alerts-${suffix}`, `dlq-${suffix}`] }).catch(() => undefined);
    await admin.disconnect();
  });

  const runExample = (script: string, args: string[]) => {
    const result = spawnSync(python, [script, '--bootstrap-servers', BROKERS.join(','), '--topic', topic, ...args], {
      cwd: EXAMPLES,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    return result.stdout;
  };

  it('Confluent wire format through the registry (a subject of its own) and plain JSON: every event counted exactly once, none dead-lettered', async () => {
    // Not the stack's predictions-value: the client registers its own rendering of the schema, a new
    // version that would become that shared subject's latest under the other tests.
    const subject = `${topic}-value`;
    expect(runExample('producer_avro.py', ['--registry-url', REGISTRY_URL, '--subject', subject, '--model', 'py-avro', '--count', '1200'])).toMatch(
      new RegExp(`^sent 1200 Avro prediction logs to .* \\(subject ${subject}\\)`),
    );
    expect(runExample('producer_json.py', ['--model', 'py-json', '--count', '800', '--seed', '2'])).toMatch(/^sent 800 JSON prediction logs/);

    // The Avro messages carry the id of the schema registered under that subject.
    const registered = (await (await fetch(`${REGISTRY_URL}/subjects/${subject}/versions/latest`)).json()) as { id: number };
    const consumer = testKafka().consumer({ groupId: uniqueName('python-peek') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const framing = new Set<string>();
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const value = message.value!;
          framing.add(value[0] === 0 ? `avro schema ${value.readInt32BE(1)}` : value.subarray(0, 1).toString());
          if (framing.size === 2) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect(framing).toEqual(new Set([`avro schema ${registered.id}`, '{']));

    const reader = new ModelReader(store, topology, { cacheReferences: false });
    const status = await waitFor(
      'the worker to count both producers\' events',
      async () => {
        const report = await buildStatus(store, reader, Date.now(), { name: '1h', duration: 3_600_000 });
        // Totals are read after the window (status reads them in separate calls): both must be complete.
        const counts = Object.fromEntries(report.models.map((model) => [model.model_id, Math.min(model.count_total, model.window.count)]));
        return counts['py-avro'] === 1200 && counts['py-json'] === 800 ? report : undefined;
      },
      60_000,
      500,
    );
    expect(status.dead_letters).toEqual({});
    const avro = status.models.find((model) => model.model_id === 'py-avro')!;
    expect(avro).toMatchObject({ predictor_name: 'eta', role: 'primary', error_total: 0 });
    // Each feature arrives with its type: numbers, a category, a boolean, a sometimes-missing number.
    expect(Object.fromEntries(Object.entries(avro.features).map(([name, feature]) => [name, [feature.type, feature.count_total]]))).toEqual({
      distance_km: ['numeric', 1200],
      hour: ['numeric', 1200],
      city: ['categorical', 1200],
      is_rush_hour: ['categorical', 1200],
      courier_rating: ['numeric', 1200],
    });
    // None in Python: a missing value (about 5 % of ratings), not a dead letter.
    expect(avro.features['courier_rating']!.missing_rate).toBeGreaterThan(0.02);
    expect(avro.features['courier_rating']!.missing_rate).toBeLessThan(0.09);
    expect(avro.features['distance_km']!.missing_rate).toBe(0);
    expect(avro.prediction.type).toBe('numeric');
  });
});
