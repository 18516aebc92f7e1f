import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners, type Admin, type Producer } from 'kafkajs';
import { modelKey } from '../../src/aggregate/index.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import { encodeAvro, encodeJson, predictionType } from '../../src/produce/encode.ts';
import { encodeLabelJson } from '../../src/produce/labels.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { decodeAlertEvent } from '../../src/sinks/alerts.ts';
import { stackPaths, stackProcess, stackUp, type ServiceName, type StackLayout } from '../../src/stack/index.ts';
import { ENDPOINTS, uniqueName } from './endpoints.ts';
import { freePort, TcpProxy } from './tcp-proxy.ts';
import { testNames, writeTopology, type TestNames } from './topology.ts';
import { waitFor } from './wait.ts';
import { WorkerProcesses } from './workers.ts';

/**
 * The fault-injection suite's own Kafka and Redis (test/faults): killed, stopped, paused and filled by
 * the tests, never the shared stack's. Started by the suite's globalSetup in <stack dir>/faults/.
 */
export const FAULT_LAYOUT: StackLayout = { instance: 'faults', kafka: { port: 19092, controllerPort: 19093 }, redis: { port: 16379 }, registry: false };
export const FAULT_BROKERS = ['127.0.0.1:19092'];
export const FAULT_REDIS_URL = 'redis://127.0.0.1:16379';

export const faultKafka = (): Kafka => new Kafka({ clientId: uniqueName('faults'), brokers: FAULT_BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 30, maxRetryTime: 5000 } });

/** Signals the suite's service process directly (kill -9, SIGSTOP, SIGCONT). */
export function signalService(service: ServiceName, signal: NodeJS.Signals): number {
  const record = stackProcess(service, { layout: FAULT_LAYOUT });
  if (!record) throw new Error(`the fault stack's ${service} is not running`);
  process.kill(record.pid, signal);
  return record.pid;
}

/** Starts whatever of the suite's services is down (a killed one restarts from its data). */
export async function restartServices(): Promise<void> {
  await stackUp({ layout: FAULT_LAYOUT });
}

/** kill -9 of the suite's Redis, its data deleted, started again: Redis back empty. */
export async function restartRedisEmpty(): Promise<void> {
  signalService('redis', 'SIGKILL');
  await sleep(500);
  rmSync(stackPaths(undefined, FAULT_LAYOUT.instance).dataDir('redis'), { recursive: true, force: true });
  await restartServices();
}

/**
 * Redis rolled back: its append-only files as they were `olderByMs` ago come back after a kill -9 (a
 * restore from an older backup, a failover to a lagging replica). Traffic flows in between.
 */
export async function restartRedisFromOlderFiles(olderByMs: number): Promise<void> {
  const dataDir = stackPaths(undefined, FAULT_LAYOUT.instance).dataDir('redis');
  const copy = `${dataDir}-older`;
  rmSync(copy, { recursive: true, force: true });
  cpSync(join(dataDir, 'appendonlydir'), copy, { recursive: true });
  await sleep(olderByMs);
  signalService('redis', 'SIGKILL');
  await sleep(500);
  rmSync(join(dataDir, 'appendonlydir'), { recursive: true, force: true });
  rmSync(join(dataDir, 'dump.rdb'), { force: true });
  cpSync(copy, join(dataDir, 'appendonlydir'), { recursive: true });
  rmSync(copy, { recursive: true, force: true });
  await restartServices();
}

export const faultRedis = (): Redis => new Redis(FAULT_REDIS_URL, { maxRetriesPerRequest: null });

/** What a user sees of a worker during a fault: its log lines, /readyz over time, its metrics. */
export interface Observation {
  lines: { at: number; level: number; msg: string; fields: Record<string, unknown> }[];
  /** [from, to] spans during which /readyz answered anything but 200 (to = undefined: still). */
  notReady: [number, number | undefined][];
  lag: { at: number; lag: number }[];
}

export interface ScenarioOptions {
  name: string;
  /** Events per second while traffic flows. */
  rate: number;
  /** One bad message (to the DLQ) every this many valid ones. */
  badEvery: number;
  /** Error spike (the incident): from this many ms after traffic starts, for that long. */
  incident: { fromMs: number; forMs: number };
  /** Extra topology sections. */
  sections?: Record<string, Record<string, unknown>>;
  partitions?: number;
  /** From this many ms after traffic starts, Avro messages use a writer schema the worker has not seen (registered at setup). */
  newSchemaAtMs?: number;
  /** Topic configuration of the dead-letter topic (e.g. a small max.message.bytes). */
  dlqConfig?: { name: string; value: string }[];
  /** Also a label for every valid prediction, on the labels topic, right after it (labels joined through Redis). */
  labels?: boolean;
}

/**
 * One fault scenario against the suite's stack: its own topics, group and key prefix; a real worker
 * process (`driftwatch run`) reading the suite's Kafka and Redis and the shared registry through a
 * proxy the test can cut; traffic at a steady rate with bad messages and an error-rate incident; and,
 * at the end, the truth read back from the topics (what was produced, dead-lettered and alerted).
 */
export class Scenario {
  readonly names: TestNames;
  readonly kafka = faultKafka();
  readonly workers = new WorkerProcesses();
  readonly registryProxy: TcpProxy;
  readonly observation: Observation = { lines: [], notReady: [], lag: [] };
  state!: SummaryState;
  metricsPort = 0;
  started = 0;
  private admin!: Admin;
  private producer!: Producer;
  private producing: Promise<void> | undefined;
  private stopProducing = false;
  private polling: NodeJS.Timeout | undefined;
  private topologyFile = '';
  private produced = 0;
  /** Labels sent whose prediction can be joined (it succeeded, with a value): labeled_total must reach this. */
  joinable = 0;
  /** A later version of the prediction schema (one more optional field), registered at setup. */
  private laterSchema: { id: number; type: ReturnType<typeof predictionType> } | undefined;
  private polls = 0;

  constructor(
    readonly options: ScenarioOptions,
    registryProxyPort: number,
  ) {
    this.names = testNames(options.name);
    const registry = new URL(ENDPOINTS.registryUrl);
    this.registryProxy = new TcpProxy(registryProxyPort, { host: registry.hostname, port: Number(registry.port) });
  }

  static async create(options: ScenarioOptions): Promise<Scenario> {
    const scenario = new Scenario(options, await freePort());
    await scenario.setup();
    return scenario;
  }

  get registryUrl(): string {
    const url = new URL(ENDPOINTS.registryUrl);
    url.port = String(this.registryProxy.port);
    return url.toString().replace(/\/$/, '');
  }

  private async setup(): Promise<void> {
    await this.registryProxy.start();
    this.admin = this.kafka.admin();
    await this.admin.connect();
    const { topics } = this.names;
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.predictions, numPartitions: this.options.partitions ?? 2, replicationFactor: 1 },
        { topic: topics.labels, numPartitions: 1, replicationFactor: 1 },
        { topic: topics.dlq, numPartitions: 1, replicationFactor: 1, ...(this.options.dlqConfig ? { configEntries: this.options.dlqConfig } : {}) },
        { topic: topics.alerts, numPartitions: 1, replicationFactor: 1 },
      ],
    });
    this.metricsPort = await freePort();
    const extra = this.options.sections ?? {};
    const document = {
      ...extra,
      sources: { brokers: FAULT_BROKERS, registry_url: this.registryUrl, group_id: this.names.group, predictions: { topics: [topics.predictions] }, labels: { topics: [topics.labels] }, start_from: 'earliest', session_timeout: '10s', ...extra['sources'] },
      // The coarse bucket within the fine keep: comparisons (on by default) read the current coarse bucket from fine buckets.
      state: { redis_url: FAULT_REDIS_URL, key_prefix: this.names.prefix, command_timeout: '5s', retention: { fine: { bucket: '5s', keep: '30m' }, coarse: { bucket: '10m', keep: '48h' } }, ...extra['state'] },
      windows: { current: [{ name: '20s', duration: '20s' }], reference: { kind: 'rolling', duration: '10m' }, ...extra['windows'] },
      evaluation: { tick: '2s', lease: '10s', ...extra['evaluation'] },
      labels: { enabled: this.options.labels === true, retry_interval: '2s', ...extra['labels'] },
      rules: { builtin: false, defaults: [{ name: 'error-rate', target: 'model', statistic: 'error_rate', above: 0.05, clear: 0.02, min_samples: 200, severity: 'critical' }], ...extra['rules'] },
      sinks: { dlq_topic: topics.dlq, alerts_topic: topics.alerts, metrics: { port: this.metricsPort, host: '127.0.0.1' }, ...extra['sinks'] },
    };
    this.topologyFile = writeTopology(document);
    const { parseTopology } = await import('../../src/config/topology.ts');
    this.state = openTopologyState(parseTopology(document, 'fault scenario'), { maxRetriesPerRequest: null });
    if (this.options.newSchemaAtMs !== undefined) {
      const schema = predictionType().schema() as { fields: unknown[] } & Record<string, unknown>;
      const later = { ...schema, fields: [...schema.fields, { name: `fault_${this.names.suffix.replace(/\W/g, '_')}`, type: ['null', 'string'], default: null }] };
      const { id } = await new SchemaRegistry({ host: ENDPOINTS.registryUrl }).register({ type: SchemaType.AVRO, schema: JSON.stringify(later) }, { subject: `${topics.predictions}-value` });
      this.laterSchema = { id, type: avro.Type.forSchema(later as avro.Schema) };
    }
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner, retry: { retries: 30, maxRetryTime: 5000 } });
    await this.producer.connect();
  }

  /** Starts the worker process, its observation (logs, /readyz, lag) and the traffic. */
  async start(): Promise<void> {
    this.started = Date.now();
    this.startWorker('w1');
    this.polling = setInterval(() => void this.poll(), 500);
    await waitFor('the worker to be ready', async () => ((await this.readyz()) === 200 ? true : undefined), 60_000, 250);
    this.producing = this.produce();
  }

  startWorker(id: string): void {
    this.workers.start(this.topologyFile, id, [], {
      logLevel: 'info',
      onLine: (line) => {
        try {
          const parsed = JSON.parse(line) as { level: number; msg: string; time: number } & Record<string, unknown>;
          this.observation.lines.push({ at: parsed.time, level: parsed.level, msg: parsed.msg, fields: parsed });
        } catch {
          this.observation.lines.push({ at: Date.now(), level: 50, msg: line, fields: {} });
        }
      },
    });
  }

  async readyz(): Promise<number> {
    try {
      return (await fetch(`http://127.0.0.1:${this.metricsPort}/readyz`, { signal: AbortSignal.timeout(1000) })).status;
    } catch {
      return 0;
    }
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  }

  /** A metric's value (summed over its label sets that match `labels`). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    let sum = 0;
    for (const line of (await this.metrics()).split('\n')) {
      if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
      if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  private async poll(): Promise<void> {
    const now = Date.now();
    if (this.polls++ % 2 === 0) void this.lag();
    const status = await this.readyz();
    const open = this.observation.notReady.at(-1);
    if (status !== 200 && (!open || open[1] !== undefined)) this.observation.notReady.push([now, undefined]);
    if (status === 200 && open && open[1] === undefined) open[1] = now;
  }

  /** Traffic at `rate`, JSON and Avro mixed, keys saying what each message is: v-<n> valid, bad-<n> not. */
  private async produce(): Promise<void> {
    const schemaId = await new SchemaRegistry({ host: ENDPOINTS.registryUrl }).getLatestSchemaId('predictions-value');
    const type = predictionType();
    const later = this.laterSchema;
    const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, numericFeatures: 4, categoricalFeatures: 1, errorRate: 0.002, seed: 7, drift: [{ kind: 'errors', rate: 0.4, fromMs: this.options.incident.fromMs, toMs: this.options.incident.fromMs + this.options.incident.forMs }] };
    const generator = new TrafficGenerator(spec);
    const labels: { message: { key: string; value: Buffer } }[] = [];
    let sentJoinable = 0;
    let n = 0;
    while (!this.stopProducing) {
      const slice = Date.now();
      const elapsed = slice - this.started;
      const due = Math.floor(((elapsed + 100) * this.options.rate) / 1000) - this.produced;
      const messages = [];
      for (let i = 0; i < due; i++, n++) {
        if (n % this.options.badEvery === this.options.badEvery - 1) {
          messages.push({ key: `bad-${n}`, value: Buffer.from(`{"prediction_id": "bad-${n}", "sent_at": "never"}`) });
          continue;
        }
        const event = generator.next(Date.now(), elapsed);
        if (this.options.labels) {
          labels.push({ message: { key: event.prediction_id, value: encodeLabelJson({ prediction_id: event.prediction_id, label: n % 3, observed_at: Date.now() }) } });
          if (event.error === null && event.prediction !== null) sentJoinable++;
        }
        const avro = later && elapsed >= (this.options.newSchemaAtMs ?? Infinity) ? encodeAvro(later.type, later.id, event) : encodeAvro(type, schemaId, event);
        messages.push({ key: `v-${n}`, value: n % 2 === 0 ? avro : encodeJson(event) });
      }
      this.produced += due;
      if (messages.length > 0) {
        // A send that fails (the broker is down) may or may not have landed: the truth is read back from the topic.
        await this.producer.send({ topic: this.names.topics.predictions, acks: -1, messages }).catch(() => undefined);
      }
      if (labels.length > 0 && (await this.producer.send({ topic: this.names.topics.labels, acks: -1, messages: labels.splice(0).map(({ message }) => message) }).then(() => true, () => false))) {
        this.joinable += sentJoinable;
      }
      sentJoinable = 0;
      await sleep(Math.max(0, 100 - (Date.now() - slice)));
    }
  }

  async stopTraffic(): Promise<void> {
    this.stopProducing = true;
    await this.producing;
  }

  /** Messages the group has not committed yet, from the broker; undefined while it does not answer. */
  async lag(): Promise<number | undefined> {
    try {
      const topic = this.names.topics.predictions;
      const [ends, committed] = await Promise.all([this.admin.fetchTopicOffsets(topic), this.admin.fetchOffsets({ groupId: this.names.group, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      const lag = ends.reduce((sum, end) => sum + Number(end.high) - Math.max(0, done.get(end.partition) ?? 0), 0);
      this.observation.lag.push({ at: Date.now(), lag });
      return lag;
    } catch {
      return undefined;
    }
  }

  async waitCaughtUp(timeoutMs = 180_000): Promise<number> {
    const began = Date.now();
    await waitFor('the group to catch up', async () => ((await this.lag()) === 0 ? true : undefined), timeoutMs, 500);
    return Date.now() - began;
  }

  /** Every message of a topic of the suite's Kafka, read from the beginning up to its end now. */
  async readTopic(topic: string): Promise<{ partition: number; offset: string; key: string; value: Buffer | null; headers: Record<string, string> }[]> {
    const ends = (await this.admin.fetchTopicOffsets(topic)).filter((end) => Number(end.high) > Number(end.low));
    const out: { partition: number; offset: string; key: string; value: Buffer | null; headers: Record<string, string> }[] = [];
    if (ends.length === 0) return out;
    const remaining = new Map(ends.map((end) => [end.partition, Number(end.high) - 1]));
    const consumer = this.kafka.consumer({ groupId: uniqueName('reader') });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
          out.push({ partition, offset: message.offset, key: message.key?.toString() ?? '', value: message.value, headers });
          if (Number(message.offset) >= (remaining.get(partition) ?? Infinity)) remaining.delete(partition);
          if (remaining.size === 0) resolve();
        },
      });
    });
    await consumer.disconnect();
    return out;
  }

  /** The checks every fault must pass: exact counts, each bad offset once on the DLQ, one firing and one resolved per incident. */
  async verdict(): Promise<{ produced: number; valid: number; counted: number; bad: number; deadLetters: number; duplicatesOnDlq: number; incidents: Map<string, { firing: number; resolved: number; raw: number }>; alertCopies: number }> {
    const produced = await this.readTopic(this.names.topics.predictions);
    const valid = produced.filter((m) => m.key.startsWith('v-')).length;
    const badOffsets = new Set(produced.filter((m) => m.key.startsWith('bad-')).map((m) => `${m.partition}/${m.offset}`));
    const letters = await this.readTopic(this.names.topics.dlq);
    const perOffset = new Map<string, number>();
    for (const letter of letters) {
      const at = `${letter.headers['dw.source_partition']}/${letter.headers['dw.source_offset']}`;
      perOffset.set(at, (perOffset.get(at) ?? 0) + 1);
    }
    const alerts = (await this.readTopic(this.names.topics.alerts)).map((m) => decodeAlertEvent(m.value!));
    const incidents = new Map<string, { firing: number; resolved: number; raw: number }>();
    const seen = new Set<string>();
    for (const event of alerts) {
      const incident = incidents.get(event.id) ?? { firing: 0, resolved: 0, raw: 0 };
      incident.raw++;
      if (!seen.has(event.event_id)) {
        seen.add(event.event_id);
        incident[event.state]++;
      }
      incidents.set(event.id, incident);
    }
    const totals = await this.state.windows.totals(modelKey('eta', 'eta-v1'));
    return {
      produced: produced.length,
      valid,
      counted: totals.count,
      bad: badOffsets.size,
      deadLetters: [...perOffset.keys()].filter((at) => badOffsets.has(at)).length,
      duplicatesOnDlq: [...perOffset.values()].filter((n) => n > 1).length,
      incidents,
      alertCopies: alerts.length - seen.size,
    };
  }

  /** Log lines at warn and above, and the info lines that tell a recovery, as "+<s> <msg>" from the start. */
  userVisibleLog(): string[] {
    const telling = /back|recovered|rebuilt|restored|stalled|behind|regress|lost|unreachable|timed out|failed|draining/i;
    return this.observation.lines
      .filter((line) => line.level >= 40 || telling.test(line.msg))
      .map((line) => `+${((line.at - this.started) / 1000).toFixed(1)}s ${line.level >= 50 ? 'ERROR' : line.level >= 40 ? 'WARN' : 'INFO'} ${line.msg}`);
  }

  async close(): Promise<void> {
    clearInterval(this.polling);
    this.stopProducing = true;
    await this.producing?.catch(() => undefined);
    this.workers.killAll();
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.deleteTopics({ topics: Object.values(this.names.topics) }).catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
    await this.state?.admin.purge().catch(() => undefined);
    await this.state?.close().catch(() => undefined);
    await this.registryProxy.stop();
  }
}

export type { AlertEvent };
