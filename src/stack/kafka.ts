import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type ITopicConfig } from 'kafkajs';
import { DriftwatchError, errorMessage } from '../errors.ts';
import { installMarkerMatches, mavenPackage, pomProperty, recipeHash, requireJava, runLoggedJava, writeInstallMarker } from './install.ts';
import { spawnDetached } from './process.ts';
import { isSecureSetUp, SECURE_KAFKA_PORT, secureKafkaProperties } from './secure.ts';
import type { Health, ServiceDriver, StackContext } from './types.ts';

export const KAFKA_HOST = '127.0.0.1';
export const KAFKA_PORT = 9092;
export const KAFKA_CONTROLLER_PORT = 9093;
export const KAFKA_BROKERS: readonly string[] = [`${KAFKA_HOST}:${KAFKA_PORT}`];

/** The topics the product uses, created explicitly (auto-creation is off). */
export interface TopicSpec {
  topic: string;
  numPartitions: number;
  configEntries?: { name: string; value: string }[];
}

export const STACK_TOPICS: readonly TopicSpec[] = [
  { topic: 'predictions', numPartitions: 6 },
  { topic: 'labels', numPartitions: 6 },
  // key = incident id: compaction keeps the latest state of every incident.
  { topic: 'driftwatch.alerts', numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
  { topic: 'driftwatch.dlq', numPartitions: 3 },
  // key = predictor/candidate model: compaction keeps each candidate's verdict.
  { topic: 'driftwatch.verdicts', numPartitions: 3, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
];

const kafkaPom = (ctx: StackContext): string => join(ctx.paths.templates, 'kafka', 'pom.xml');
const kafkaDir = (ctx: StackContext): string => ctx.paths.serviceDir('kafka');
const libsDir = (ctx: StackContext): string => join(ctx.paths.installDir('kafka'), 'libs');
const configDir = (ctx: StackContext): string => join(kafkaDir(ctx), 'config');
const markerFile = (ctx: StackContext): string => join(ctx.paths.installDir('kafka'), 'installed.json');
const recipe = (ctx: StackContext): string => recipeHash(kafkaPom(ctx));

export function kafkaVersion(ctx: StackContext): string {
  return pomProperty(kafkaPom(ctx), 'kafka.version');
}

function javaArgs(ctx: StackContext, heap: string): string[] {
  return [
    `-Xmx${heap}`,
    '-Xms64m',
    '-XX:+UseSerialGC',
    '-XX:MaxMetaspaceSize=128m',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(configDir(ctx), 'log4j.properties')}`,
    '-cp',
    `${libsDir(ctx)}/*`,
  ];
}

function fillTemplate(template: string, values: Record<string, string>): string {
  let text = readFileSync(template, 'utf8');
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value);
  return text;
}

/** A kafkajs client that fails fast: stack health checks must answer in seconds, not retry for minutes. */
export function quickKafka(clientId: string, brokers: readonly string[] = KAFKA_BROKERS): Kafka {
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
}

async function withAdmin<T>(work: (admin: Admin) => Promise<T>, brokers: readonly string[] = KAFKA_BROKERS): Promise<T> {
  const admin = quickKafka('driftwatch-stack', brokers).admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function kafkaHealth(brokers: readonly string[] = KAFKA_BROKERS): Promise<Health> {
  try {
    const topics = await withAdmin((admin) => admin.listTopics(), brokers);
    return { healthy: true, detail: `${topics.length} topics` };
  } catch (error) {
    return { healthy: false, detail: errorMessage(error) };
  }
}

export interface TopicResult {
  topic: string;
  partitions: number;
  config: Record<string, string>;
  action: 'created' | 'exists';
  /** Set when an existing topic differs from the spec: reported, never changed behind the user's back. */
  warning?: string;
}

/** Creates the missing topics; reports the existing ones as they are. */
export async function ensureTopics(specs: readonly TopicSpec[] = STACK_TOPICS, brokers: readonly string[] = KAFKA_BROKERS): Promise<TopicResult[]> {
  return withAdmin(async (admin) => {
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((spec) => !existing.has(spec.topic));
    if (missing.length > 0) {
      const topics: ITopicConfig[] = missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.numPartitions,
        replicationFactor: 1,
        ...(spec.configEntries === undefined ? {} : { configEntries: spec.configEntries }),
      }));
      await admin.createTopics({ topics, waitForLeaders: true, timeout: 10_000 });
    }
    const present = specs.filter((spec) => existing.has(spec.topic)).map((spec) => spec.topic);
    const metadata = present.length === 0 ? { topics: [] } : await admin.fetchTopicMetadata({ topics: present });
    const partitionsOf = new Map(metadata.topics.map((topic) => [topic.name, topic.partitions.length]));
    return specs.map((spec): TopicResult => {
      const config = Object.fromEntries((spec.configEntries ?? []).map((entry) => [entry.name, entry.value]));
      if (!existing.has(spec.topic)) {
        return { topic: spec.topic, partitions: spec.numPartitions, config, action: 'created' };
      }
      const partitions = partitionsOf.get(spec.topic) ?? 0;
      const result: TopicResult = { topic: spec.topic, partitions, config, action: 'exists' };
      if (partitions < spec.numPartitions) {
        result.warning = `has ${partitions} partitions, the stack expects ${spec.numPartitions}`;
      }
      return result;
    });
  }, brokers);
}

/** Runs one of Kafka's command-line tools (a main class of its libs) to completion, output in the Kafka log. */
export async function runKafkaTool(ctx: StackContext, mainClass: string, args: readonly string[], what: string): Promise<void> {
  await runLoggedJava([...javaArgs(ctx, '256m'), mainClass, ...args], { cwd: kafkaDir(ctx), logFile: ctx.paths.logFile('kafka'), what });
}

/** Ports the broker listens on: the controller's, and the SASL_SSL one once the secure stack is set up. */
export function kafkaPorts(ctx: StackContext): number[] {
  return [KAFKA_PORT, KAFKA_CONTROLLER_PORT, ...(isSecureSetUp(ctx.paths) ? [SECURE_KAFKA_PORT] : [])];
}

export const kafkaDriver: ServiceDriver = {
  name: 'kafka',
  address: `${KAFKA_HOST}:${KAFKA_PORT}`,
  port: KAFKA_PORT,
  marker: 'kafka.Kafka',
  startTimeoutMs: 90_000,
  stopGraceMs: 30_000,

  product: (ctx) => `Apache Kafka ${kafkaVersion(ctx)} (KRaft, broker+controller)`,

  isInstalled: async (ctx) =>
    installMarkerMatches(markerFile(ctx), recipe(ctx)) && existsSync(join(libsDir(ctx), `kafka_2.13-${kafkaVersion(ctx)}.jar`)),

  async install(ctx) {
    const version = kafkaVersion(ctx);
    ctx.progress(`kafka: installing Apache Kafka ${version} from Maven Central (mvn, log: ${ctx.paths.installLogFile('kafka')})`);
    const outcome = await mavenPackage(ctx, 'kafka', kafkaPom(ctx), {
      'libs.dir': libsDir(ctx),
      'kafka.build.dir': join(ctx.paths.installDir('kafka'), 'build'),
    });
    if (!existsSync(join(libsDir(ctx), `kafka_2.13-${version}.jar`))) {
      throw new DriftwatchError('DW_ERR_STACK', `kafka: install finished without kafka_2.13-${version}.jar in ${libsDir(ctx)}`);
    }
    writeInstallMarker(markerFile(ctx), recipe(ctx), { version });
    return outcome;
  },

  async prepare(ctx) {
    requireJava('kafka');
    const dataDir = ctx.paths.dataDir('kafka');
    mkdirSync(configDir(ctx), { recursive: true });
    mkdirSync(dataDir, { recursive: true });
    const plain = fillTemplate(join(ctx.paths.templates, 'kafka', 'server.properties'), { DATA_DIR: dataDir, PORT: String(KAFKA_PORT), CONTROLLER_PORT: String(KAFKA_CONTROLLER_PORT) });
    // Once `stack up --secure` has made its certificates, the broker keeps its SASL_SSL listener too.
    const secure = isSecureSetUp(ctx.paths)
      ? secureKafkaProperties(ctx.paths, { plain: `PLAINTEXT://${KAFKA_HOST}:${KAFKA_PORT}`, controller: `CONTROLLER://${KAFKA_HOST}:${KAFKA_CONTROLLER_PORT}` })
      : '';
    writeFileSync(join(configDir(ctx), 'server.properties'), `${plain}${secure}`);
    writeFileSync(join(configDir(ctx), 'log4j.properties'), readFileSync(join(ctx.paths.templates, 'kafka', 'log4j.properties')));
    if (existsSync(join(dataDir, 'meta.properties'))) return;
    // A KRaft log directory is formatted once, with a cluster id; our cluster id is 16 random bytes, base64url
    // (the format of Kafka's own Uuid.randomUuid()), and like Kafka's never starting with "-": StorageTool's
    // argument parser would take it for an option (one fresh machine in 64 failed to start its stack).
    let clusterId: string;
    do clusterId = randomBytes(16).toString('base64url');
    while (clusterId.startsWith('-'));
    ctx.progress(`kafka: formatting ${dataDir} (cluster id ${clusterId})`);
    await runLoggedJava(
      [
        ...javaArgs(ctx, '256m'),
        'kafka.tools.StorageTool',
        'format',
        '--ignore-formatted',
        '-t',
        clusterId,
        '-c',
        join(configDir(ctx), 'server.properties'),
      ],
      { cwd: kafkaDir(ctx), logFile: ctx.paths.logFile('kafka'), what: 'kafka: format storage (kafka-storage format)' },
    );
  },

  spawn: (ctx) =>
    spawnDetached('java', [...javaArgs(ctx, '512m'), 'kafka.Kafka', join(configDir(ctx), 'server.properties')], {
      cwd: kafkaDir(ctx),
      logFile: ctx.paths.logFile('kafka'),
    }),

  health: () => kafkaHealth(),
};

/**
 * Another KRaft broker+controller on loopback (the fault suite's), on its own ports, from the same
 * install: the default broker's driver with its ports, config and health check (never the secure listener).
 */
export function createKafkaDriver(port: number, controllerPort: number): ServiceDriver {
  const brokers = [`${KAFKA_HOST}:${port}`];
  return {
    ...kafkaDriver,
    address: brokers[0]!,
    port,
    ports: [port, controllerPort],
    async prepare(ctx) {
      requireJava('kafka');
      const dataDir = ctx.paths.dataDir('kafka');
      mkdirSync(configDir(ctx), { recursive: true });
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(join(configDir(ctx), 'server.properties'), fillTemplate(join(ctx.paths.templates, 'kafka', 'server.properties'), { DATA_DIR: dataDir, PORT: String(port), CONTROLLER_PORT: String(controllerPort) }));
      writeFileSync(join(configDir(ctx), 'log4j.properties'), readFileSync(join(ctx.paths.templates, 'kafka', 'log4j.properties')));
      if (existsSync(join(dataDir, 'meta.properties'))) return;
      let clusterId: string;
      do clusterId = randomBytes(16).toString('base64url');
      while (clusterId.startsWith('-'));
      await runKafkaTool(ctx, 'kafka.tools.StorageTool', ['format', '--ignore-formatted', '-t', clusterId, '-c', join(configDir(ctx), 'server.properties')], 'kafka: format storage (kafka-storage format)');
    },
    health: () => kafkaHealth(brokers),
  };
}
