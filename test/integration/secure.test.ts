import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { Kafka, logLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { parseTopology, type Topology } from '../../src/config/topology.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { kafkaClient, kafkaSecurity } from '../../src/sources/kafka/client.ts';
import { registryConnection, registryGet } from '../../src/sources/registry-client.ts';
import { parseEnvFile, stackUp, type SecureStackInfo } from '../../src/stack/index.ts';
import { redisClientOptions } from '../../src/state/redis-client-options.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { collectAlerts, uniqueName, waitFor } from '../kit/index.ts';

/**
 * The product against `stack up --secure`: Kafka over SASL_SSL (SCRAM-SHA-512), Redis over TLS with an ACL
 * user, the registry over HTTPS with basic auth; a worker run from the stack's own topology.yaml with its
 * secrets from secrets.env. Every byte the product printed is searched for the secret values.
 */

const REPO = resolve(dirname(new URL(import.meta.url).pathname), '..', '..');
let secure: SecureStackInfo;
/** The variables of secrets.env: what the worker's environment gets. */
let secretEnv: Record<string, string>;
/** The values no output may contain (passwords; user names are not secret). */
let secretValues: string[];
let topologyFile: string;
let topology: Topology;
let names: { predictions: string; labels: string; alerts: string; dlq: string; group: string; prefix: string };
/** Everything the product wrote: logs, command output, status, /metrics. */
const captured: { what: string; text: string }[] = [];
const quiet = createLogger('secure-test', 'silent');
let admin: Admin;
let redis: Redis;
const children: ChildProcess[] = [];

/** Runs the CLI with the secrets in its environment; keeps its output. */
function cli(args: string[], what: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['bin/driftwatch.js', ...args], { cwd: REPO, env: { ...process.env, ...secretEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      captured.push({ what: `${what} (stdout)`, text: stdout }, { what: `${what} (stderr)`, text: stderr });
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** A kafkajs client that gives up at once: for the clients that must be refused. */
function quickKafka(config: Omit<KafkaConfig, 'clientId'>): Kafka {
  return new Kafka({ clientId: 'secure-test-refused', logLevel: logLevel.NOTHING, connectionTimeout: 3000, authenticationTimeout: 3000, requestTimeout: 3000, retry: { retries: 0 }, ...config });
}

async function refusedKafka(config: Omit<KafkaConfig, 'clientId'>): Promise<string> {
  const client = quickKafka(config).admin();
  try {
    await client.connect();
    await client.listTopics();
    return 'accepted';
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

async function refusedRedis(options: RedisOptions): Promise<string> {
  const client = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
  const errors: string[] = [];
  client.on('error', (error: Error) => errors.push(error.message));
  try {
    await client.connect();
    return `accepted: ${await client.ping()}`;
  } catch (error) {
    return [...errors, (error as Error).message].join('; ');
  } finally {
    client.disconnect();
  }
}

beforeAll(async () => {
  // Brings the secure endpoints up if needed (on a fresh machine: certificates, nginx, one Kafka restart).
  const up = await stackUp({ secure: true, progress: (line) => process.stderr.write(`[stack] ${line}\n`) });
  secure = up.secure!;
  secretEnv = parseEnvFile(readFileSync(secure.secretsFile, 'utf8'));
  secretValues = Object.entries(secretEnv)
    .filter(([name]) => name.endsWith('_PASSWORD'))
    .map(([, value]) => value);
  expect(secretValues).toHaveLength(3);

  // The stack's own topology.yaml, with this test's topics, group, key prefix and a quick error-rate rule.
  const suffix = uniqueName('secure');
  names = { predictions: `predictions-${suffix}`, labels: `labels-${suffix}`, alerts: `alerts-${suffix}`, dlq: `dlq-${suffix}`, group: `group-${suffix}`, prefix: `test:${suffix}` };
  const document = parseYaml(readFileSync(secure.topologyFile, 'utf8')) as Record<string, Record<string, unknown>>;
  const sources = document['sources']!;
  const caFile = secure.caFile;
  Object.assign(sources, { predictions: { topics: [names.predictions] }, labels: { topics: [names.labels] }, group_id: names.group, start_from: 'earliest', session_timeout: '6s', tls: { ca_file: caFile } });
  (sources['registry'] as Record<string, unknown>)['tls'] = { ca_file: caFile };
  Object.assign(document['state']!, { key_prefix: names.prefix, tls: { ca_file: caFile } });
  document['sinks'] = { alerts_topic: names.alerts, dlq_topic: names.dlq, metrics: { port: 0, host: '127.0.0.1' } };
  document['evaluation'] = { tick: '1s' };
  document['rules'] = { builtin: false, defaults: [{ name: 'error-watch', target: 'model', statistic: 'error_rate', above: 0.2, clear: 0.1, min_samples: 100 }] };
  const text = stringify(document);
  expect(text).toContain('${DRIFTWATCH_KAFKA_PASSWORD}'); // secrets stay references in the file
  topologyFile = join(mkdtempSync(join(tmpdir(), 'dw-secure-')), 'topology.yaml');
  writeFileSync(topologyFile, text);
  topology = parseTopology(parseYaml(text), topologyFile, { env: secretEnv });

  admin = kafkaClient(topology.sources, quiet, 'secure-test').admin();
  await admin.connect();
  await admin.createTopics({
    topics: [names.predictions, names.labels, names.alerts, names.dlq].map((topic, index) => ({ topic, numPartitions: index === 0 ? 3 : 1, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  redis = new Redis({ ...redisClientOptions(topology.state), lazyConnect: true });
  await redis.connect();
}, 900_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await admin?.deleteTopics({ topics: Object.values(names).slice(0, 4) }).catch(() => undefined);
  await admin?.deleteGroups([names.group]).catch(() => undefined);
  await admin?.disconnect();
  if (redis) {
    const keys = await redis.keys(`{${names.prefix}}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

describe('secure stack: SASL_SSL, Redis TLS + ACL, registry HTTPS + basic auth, secrets from the environment', () => {
  it('counts events produced over SASL_SSL exactly, keeps state in Redis over TLS, publishes alerts over SASL_SSL, and shows no secret anywhere', async () => {
    const alerts = await collectAlerts(kafkaClient(topology.sources, quiet, 'secure-test-alerts'), names.alerts);
    const worker = spawn(process.execPath, ['bin/driftwatch.js', 'run', '--topology', topologyFile, '--worker-id', 'secure-w1'], {
      cwd: REPO,
      env: { ...process.env, ...secretEnv, DRIFTWATCH_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(worker);
    let workerOutput = '';
    worker.stdout.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
    try {
      // Avro (schema id from the registry over HTTPS + basic auth) and JSON, half of them errors.
      const count = 3000;
      const { sent } = await produceTraffic({
        brokers: topology.sources.brokers,
        registryUrl: topology.sources.registry_url,
        security: topology.sources,
        topic: names.predictions,
        encoding: 'mixed',
        rate: 0,
        count,
        spec: { ...DEFAULT_TRAFFIC, seed: 14, models: 1, errorRate: 0.5, drift: [] },
      });
      expect(sent).toBe(count);

      // status over Redis TLS as the ACL user: the exact count, once every event is in.
      const status = await waitFor(
        'every event counted',
        async () => {
          const run = await cli(['status', '--json', '--topology', topologyFile], 'status --json');
          if (run.code !== 0) return undefined;
          const report = JSON.parse(run.stdout) as { models: { model_id: string; count_total: number }[] };
          return report.models[0]?.count_total === count ? report : undefined;
        },
        90_000,
        1000,
      );
      expect(status.models.map((model) => [model.model_id, model.count_total])).toEqual([['eta-v1', count]]);
      expect((await redis.keys(`{${names.prefix}*`)).length).toBeGreaterThan(0);

      const firing = await waitFor('the error-rate alert over SASL_SSL', async () => alerts.events.find((event: AlertEvent) => event.state === 'firing'), 60_000);
      expect(firing).toMatchObject({ rule: 'error-watch', predictor_name: 'eta', model_id: 'eta-v1', statistic: 'error_rate' });

      const port = Number(/"metrics":"http:\/\/127\.0\.0\.1:(\d+)\/metrics"/.exec(workerOutput)?.[1]);
      expect(port).toBeGreaterThan(0);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('driftwatch_events_total');
      captured.push({ what: '/metrics', text: metrics });
      captured.push({ what: 'status (table)', text: (await cli(['status', '--topology', topologyFile], 'status')).stdout });
      for (const args of [['stack', 'status'], ['stack', 'status', '--json']]) await cli(args, args.join(' '));

      worker.kill('SIGTERM');
      const code = await new Promise<number | null>((resolveExit) => worker.once('exit', resolveExit));
      expect(code).toBe(0);
    } finally {
      await alerts.stop();
      captured.push({ what: 'worker log', text: workerOutput });
    }
    expect(workerOutput).toContain('worker started');
    const leaks = captured.flatMap(({ what, text }) => secretValues.filter((secret) => text.includes(secret)).map(() => what));
    expect(leaks).toEqual([]);
    expect(captured.map(({ text }) => text).join('').length).toBeGreaterThan(10_000);
  }, 300_000);

  it('a value the CLI would print is scrubbed when it is a secret of the topology', async () => {
    // The password as the (missing) file to load: the error names the file; the output shows *** instead.
    const password = secretEnv['DRIFTWATCH_REDIS_PASSWORD']!;
    const run = await cli(['baseline', 'load', password, '--predictor', 'eta', '--model', 'eta-v1', '--topology', topologyFile], 'baseline load <secret>');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('***');
    expect(run.stderr).not.toContain(password);
  });

  it('Kafka refuses plaintext, an unknown CA and a wrong password on the SASL_SSL listener', async () => {
    const brokers = topology.sources.brokers;
    const { ssl, sasl } = kafkaSecurity(topology.sources);
    expect(await refusedKafka({ brokers, ...kafkaSecurity(topology.sources) })).toBe('accepted');
    expect(await refusedKafka({ brokers })).not.toBe('accepted');
    expect(await refusedKafka({ brokers, ssl: true, ...(sasl ? { sasl } : {}) })).toMatch(/self-signed certificate/);
    expect(await refusedKafka({ brokers, ...(ssl ? { ssl } : {}), sasl: { mechanism: 'scram-sha-512', username: 'driftwatch', password: 'not-the-password' } })).toMatch(/KafkaJSSASLAuthenticationError/);
  });

  it('Redis refuses plaintext, no credentials, the default user and a wrong password', async () => {
    const options = redisClientOptions(topology.state);
    expect(await refusedRedis(options)).toBe('accepted: PONG');
    const { tls: _tls, ...plaintext } = options;
    expect(await refusedRedis(plaintext)).toMatch(/ECONNRESET|Connection is closed/);
    const { username: _user, password: _password, ...anonymous } = options;
    expect(await refusedRedis(anonymous)).toMatch(/NOAUTH/);
    // The right password as the default user: that user is disabled on the TLS Redis.
    expect(await refusedRedis({ ...anonymous, password: options.password! })).toMatch(/WRONGPASS/);
    expect(await refusedRedis({ ...options, password: 'not-the-password' })).toMatch(/WRONGPASS/);
  });

  it('the registry refuses plaintext, no credentials and a wrong password', async () => {
    const connection = registryConnection(topology.sources);
    expect((await registryGet(connection, '/subjects')).status).toBe(200);
    const { auth: _auth, ...anonymous } = connection;
    expect((await registryGet(anonymous, '/subjects')).status).toBe(401);
    expect((await registryGet({ ...connection, auth: { username: 'driftwatch', password: 'not-the-password' } }, '/subjects')).status).toBe(401);
    const plaintext = registryConnection({ registry_url: topology.sources.registry_url.replace('https:', 'http:'), registry: {} });
    expect((await registryGet(plaintext, '/subjects')).status).toBe(400);
    const unknownCa = registryConnection({ registry_url: topology.sources.registry_url, registry: { user_info: `driftwatch:${secretEnv['DRIFTWATCH_REGISTRY_PASSWORD']}` } });
    await expect(registryGet(unknownCa, '/subjects')).rejects.toThrow(/unable to verify the first certificate/);
  });
});
