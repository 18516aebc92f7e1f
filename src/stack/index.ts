/**
 * The local stack: Apache Kafka (KRaft), Redis and Apicurio Registry (Confluent-compatible API) on loopback,
 * installed on first use under `.stack/` (or $DRIFTWATCH_STACK_DIR), started detached, health-checked.
 * `secure: true` adds Kafka SASL_SSL, Redis TLS and registry HTTPS endpoints (secure.ts); once added they
 * are part of the stack: `up`, `status` and `down` include them.
 * Programmatic API for the CLI (`driftwatch stack up|down|status`), the demo and the integration tests.
 */
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriftwatchError, errorMessage } from '../errors.ts';
import { retry } from '../retry.ts';
import { KAFKA_BROKERS, KAFKA_HOST, createKafkaDriver, ensureTopics, kafkaDriver, kafkaPorts, type TopicResult } from './kafka.ts';
import { ensureScramUser, kafkaSaslHealth } from './kafka-sasl.ts';
import { withStackLock } from './lock.ts';
import { portOpen } from './net.ts';
import { stackPaths, type ServiceName, type StackPaths } from './paths.ts';
import { livePid, logTail, processMemory, removePidFile, stopProcess, writePidFile, type Memory, type PidRecord } from './process.ts';
import { createRedisDriver, REDIS_HOST, REDIS_URL, redisDriver } from './redis.ts';
import { REDIS_CLUSTER_NODES, redisClusterDataDir, redisClusterDown, redisClusterStatus, redisClusterUp, type RedisClusterUpResult } from './redis-cluster.ts';
import { REGISTRY_URL, ensureSchemas, registryDriver, type RegistrySetupResult, type SchemaResult } from './registry.ts';
import { redisTlsDataDir, redisTlsDriver } from './redis-tls.ts';
import { registryHttpsDriver } from './registry-https.ts';
import { ensureSecureMaterial, isSecureSetUp, SECURE_ENDPOINTS, SECURE_HOST, SECURE_KAFKA_PORT, secureFiles, type SecureMaterial, type SecureSecrets } from './secure.ts';
import type { Health, ServiceDriver, StackContext } from './types.ts';

export type { Health } from './types.ts';
export type { ServiceName } from './paths.ts';
export type { TopicResult, TopicSpec } from './kafka.ts';
export type { SchemaResult, SchemaSpec } from './registry.ts';
export type { Memory } from './process.ts';
export { STACK_TOPICS } from './kafka.ts';
export { STACK_SCHEMAS, REGISTRY_COMPATIBILITY } from './registry.ts';
export { stackPaths } from './paths.ts';
export { SECRET_VARIABLES, SECURE_ENDPOINTS, parseEnvFile, readSecureSecrets, secureFiles, type SecureSecrets } from './secure.ts';

export interface StackEndpoints {
  kafkaBrokers: string[];
  redisUrl: string;
  /** The 3-master Redis Cluster of `stack up --redis-cluster`. */
  redisClusterNodes: string[];
  /** Base URL of the Confluent-compatible API (give it to @kafkajs/confluent-schema-registry as `host`). */
  registryUrl: string;
}

export const DEFAULT_ENDPOINTS: Readonly<StackEndpoints> = Object.freeze({
  kafkaBrokers: [...KAFKA_BROKERS],
  redisUrl: REDIS_URL,
  redisClusterNodes: [...REDIS_CLUSTER_NODES],
  registryUrl: REGISTRY_URL,
});

export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'redis', 'registry'];
const DRIVERS: readonly ServiceDriver[] = [kafkaDriver, redisDriver, registryDriver];

/**
 * Which services a stack runs, on which ports, and where it keeps its files. The default is the local
 * stack everyone shares; another (the fault-injection suite's: its own Kafka and Redis to kill and stop)
 * lives in `<stack dir>/<instance>/` on its own ports, shares the installs, and has no secure services
 * and no Redis Cluster.
 */
export interface StackLayout {
  /** Sub-directory of the stack dir for this stack's data, config, logs and pid files ('' = the stack dir). */
  instance: string;
  kafka?: { port: number; controllerPort: number };
  redis?: { port: number };
  registry: boolean;
}

export const DEFAULT_LAYOUT: Readonly<StackLayout> = Object.freeze({ instance: '', kafka: { port: 9092, controllerPort: 9093 }, redis: { port: 6379 }, registry: true });

function layoutDrivers(layout: StackLayout): readonly ServiceDriver[] {
  if (layout === DEFAULT_LAYOUT) return DRIVERS;
  return [
    ...(layout.kafka ? [createKafkaDriver(layout.kafka.port, layout.kafka.controllerPort)] : []),
    ...(layout.redis ? [createRedisDriver(layout.redis.port)] : []),
    ...(layout.registry ? [registryDriver] : []),
  ];
}

function layoutEndpoints(layout: StackLayout): StackEndpoints {
  const endpoints = { ...DEFAULT_ENDPOINTS, kafkaBrokers: [...DEFAULT_ENDPOINTS.kafkaBrokers] };
  if (layout === DEFAULT_LAYOUT) return endpoints;
  return { ...endpoints, kafkaBrokers: layout.kafka ? [`${KAFKA_HOST}:${layout.kafka.port}`] : [], redisUrl: layout.redis ? `redis://${REDIS_HOST}:${layout.redis.port}` : '' };
}
/** Started after the plain ones: nginx fronts the registry, and redis-tls shares Redis's install. */
const SECURE_DRIVERS: readonly ServiceDriver[] = [redisTlsDriver, registryHttpsDriver];
const SECURE_KAFKA_ADDRESS = `${SECURE_HOST}:${SECURE_KAFKA_PORT}`;

export interface StackOptions {
  /** Defaults to $DRIFTWATCH_STACK_DIR, else `.stack/` at the repository root. */
  stackDir?: string;
  /** `stack up --secure`: add the secure endpoints (kept from then on). */
  secure?: boolean;
  /** Progress lines (install, start, wait); the CLI writes them to stderr. Silent by default. */
  progress?: (message: string) => void;
  /** Also a 3-master Redis Cluster on 127.0.0.1:7001–7003 (up: start it; status/down: always looked at). */
  redisCluster?: boolean;
  /** Another stack than the default one (DEFAULT_LAYOUT). */
  layout?: StackLayout;
}

export interface ServiceUpResult {
  name: ServiceName;
  product: string;
  address: string;
  /** null for a service someone else runs (see `external`). */
  pid: number | null;
  /** Found healthy on its port but not started by us (e.g. a system Redis): used as is, never stopped. */
  external: boolean;
  installed: boolean;
  /** Wall time of the install itself (time queued behind another Maven install excluded). */
  installMs?: number;
  started: boolean;
  /** From spawn to healthy. */
  startMs?: number;
  health: Health;
  logFile: string;
}

export interface StackUpResult {
  stackDir: string;
  endpoints: StackEndpoints;
  services: ServiceUpResult[];
  topics: TopicResult[];
  compatibility: RegistrySetupResult['compatibility'];
  schemas: SchemaResult[];
  redisCluster?: RedisClusterUpResult;
  /** False when everything was installed, running, created and registered already: the run changed nothing. */
  changed: boolean;
  elapsedMs: number;
  /** With the secure endpoints: where their CA, credentials and topology are. */
  secure?: SecureStackInfo;
}

export interface SecureStackInfo {
  dir: string;
  caFile: string;
  /** The credentials as environment variables (`node --env-file=...`). */
  secretsFile: string;
  /** A topology using only the secure endpoints, its secrets taken from those variables. */
  topologyFile: string;
  endpoints: { kafkaBrokers: string[]; redisUrl: string; registryUrl: string };
}

export interface ServiceStatus {
  name: ServiceName;
  address: string;
  pid: number | null;
  /** ours: started by `stack up`; external: someone else's, answering on our port; stopped: nothing there. */
  state: 'ours' | 'external' | 'stopped';
  health: Health;
  memory: Memory | null;
  startedAt: number | null;
  logFile: string;
}

export interface StackStatusResult {
  stackDir: string;
  healthy: boolean;
  services: ServiceStatus[];
  /** Nodes of the local Redis Cluster, when one runs (not counted in `healthy`). */
  redisCluster?: Awaited<ReturnType<typeof redisClusterStatus>>;
}

export interface ServiceDownResult {
  name: ServiceName;
  action: 'stopped' | 'killed' | 'not running' | 'external, left running';
  pid: number | null;
}

export interface StackDownResult {
  stackDir: string;
  services: ServiceDownResult[];
  redisCluster: { address: string; action: string }[];
  /** Data folders deleted by `purge`. */
  purged: string[];
}

interface LayoutContext extends StackContext {
  layout: StackLayout;
  drivers: readonly ServiceDriver[];
}

function context(options: StackOptions): LayoutContext {
  const layout = options.layout ?? DEFAULT_LAYOUT;
  const drivers = layoutDrivers(layout);
  const paths = stackPaths(options.stackDir, layout.instance);
  const progress = options.progress ?? (() => undefined);
  const turns = new Map<ServiceName, { done: Promise<void>; release: () => void }>();
  for (const name of SERVICE_NAMES) {
    let release = (): void => undefined;
    const done = new Promise<void>((resolveTurn) => {
      release = resolveTurn;
    });
    turns.set(name, { done, release });
  }
  const releaseInstallTurn = (service: ServiceName): void => turns.get(service)?.release();
  // Services this stack does not run never take their turn.
  for (const name of SERVICE_NAMES) if (!drivers.some((driver) => driver.name === name)) releaseInstallTurn(name);
  return {
    layout,
    drivers,
    paths,
    progress,
    releaseInstallTurn,
    withInstallTurn: async <T>(service: ServiceName, work: () => Promise<T>): Promise<T> => {
      const earlier = SERVICE_NAMES.slice(0, SERVICE_NAMES.indexOf(service));
      await Promise.all(earlier.map((name) => turns.get(name)?.done));
      try {
        return await work();
      } finally {
        releaseInstallTurn(service);
      }
    },
  };
}

/** Serialises stack commands inside this process; the lock file does it across processes. */
let inProcess: Promise<unknown> = Promise.resolve();
function serialised<T>(paths: StackPaths, progress: (message: string) => void, work: () => Promise<T>): Promise<T> {
  const run = inProcess.then(() =>
    withStackLock(`${paths.run}/stack.lock`, work, {
      waitMs: 20 * 60_000,
      onWait: (pid) => progress(`waiting for another driftwatch stack command (pid ${pid}) to finish`),
    }),
  );
  inProcess = run.catch(() => undefined);
  return run;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

function stackError(service: ServiceName, why: string, logFile: string, tail?: string): DriftwatchError {
  return new DriftwatchError('DW_ERR_STACK', `${service}: ${why}; log: ${logFile}${tail === undefined ? '' : `\n${tail}`}`);
}

/** Polls health until healthy, the process dies, or the timeout. */
async function waitHealthy(
  ctx: StackContext,
  driver: ServiceDriver,
  exited: Promise<string> | undefined,
  timeoutMs: number,
): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  let death: string | undefined;
  void exited?.then((why) => {
    death = why;
  });
  let last: Health = { healthy: false, detail: 'not checked yet' };
  while (Date.now() < deadline) {
    last = await driver.health(ctx);
    if (last.healthy) return last;
    if (death !== undefined) {
      const logFile = ctx.paths.logFile(driver.name);
      throw stackError(driver.name, `the process ${death} before it became healthy`, logFile, await logTail(logFile));
    }
    await sleep(500);
  }
  const logFile = ctx.paths.logFile(driver.name);
  throw stackError(
    driver.name,
    `not healthy after ${seconds(timeoutMs)} (last check: ${last.detail}); it is left running, \`driftwatch stack down\` stops it`,
    logFile,
    await logTail(logFile),
  );
}

async function upService(ctx: StackContext, driver: ServiceDriver, health: Health): Promise<ServiceUpResult> {
  const { name } = driver;
  const pidFile = ctx.paths.pidFile(name);
  const logFile = ctx.paths.logFile(name);
  const base = { name, address: driver.address, logFile };
  const ours = livePid(pidFile);

  if (ours !== undefined) {
    ctx.releaseInstallTurn(name);
    const settled = health.healthy ? health : await waitHealthy(ctx, driver, undefined, driver.startTimeoutMs);
    return { ...base, product: driver.product(ctx), pid: ours.pid, external: false, installed: false, started: false, health: settled };
  }
  if (health.healthy) {
    ctx.progress(`${name}: something else already answers on ${driver.address}; using it (it is not ours to stop)`);
    return { ...base, product: driver.product(ctx), pid: null, external: true, installed: false, started: false, health };
  }
  const ports = driver.ports ?? (name === 'kafka' ? kafkaPorts(ctx) : [driver.port]);
  for (const port of ports) {
    if (await portOpen(KAFKA_HOST, port)) {
      throw stackError(name, `port ${port} on 127.0.0.1 is taken by another process that does not answer as ${name} (${health.detail}); stop it or free the port`, logFile);
    }
  }

  let installed = false;
  let installMs: number | undefined;
  if (!(await driver.isInstalled(ctx))) {
    const began = performance.now();
    const { queuedMs } = await driver.install(ctx);
    installMs = Math.round(performance.now() - began - queuedMs);
    installed = true;
    ctx.progress(`${name}: installed in ${seconds(installMs)}${queuedMs > 0 ? ` (after ${seconds(queuedMs)} queued behind another install)` : ''}`);
  }
  ctx.releaseInstallTurn(name);
  await driver.prepare(ctx);
  const product = driver.product(ctx);
  ctx.progress(`${name}: starting ${product} (log: ${logFile})`);
  const began = performance.now();
  const child = driver.spawn(ctx);
  writePidFile(pidFile, { pid: child.pid, marker: driver.marker, startedAt: Date.now(), command: product });
  const ready = await waitHealthy(ctx, driver, child.exited, driver.startTimeoutMs).catch((error: unknown) => {
    void child.exited.then(() => removePidFile(pidFile));
    throw error;
  });
  const startMs = Math.round(performance.now() - began);
  ctx.progress(`${name}: healthy on ${driver.address} after ${seconds(startMs)} (pid ${child.pid})`);
  await driver.afterStart?.(ctx);
  return {
    ...base,
    product,
    pid: child.pid,
    external: false,
    installed,
    ...(installMs === undefined ? {} : { installMs }),
    started: true,
    startMs,
    health: ready,
  };
}

/**
 * Installs what is missing, starts what is not running, waits for health, creates the topics and registers
 * the schemas. Idempotent: with everything up it only looks, and reports `changed: false`.
 * Throws DW_ERR_STACK naming the service, the reason and its log when something cannot be brought up.
 */
export async function stackUp(options: StackOptions = {}): Promise<StackUpResult> {
  const ctx = context(options);
  const began = performance.now();
  return serialised(ctx.paths, ctx.progress, async () => {
    const secure = ctx.layout === DEFAULT_LAYOUT && (options.secure === true || isSecureSetUp(ctx.paths));
    const material = secure ? await ensureSecureMaterial(ctx) : undefined;
    if (material !== undefined) await restartForSecureMaterial(ctx, material);
    let topics: TopicResult[] = [];
    let registrySetup: RegistrySetupResult | undefined;
    // Check all first, so installs then queue in a fixed order (Kafka's quick one before the registry build).
    const endpoints = layoutEndpoints(ctx.layout);
    const healths = await Promise.all(ctx.drivers.map((driver) => driver.health(ctx)));
    const pipelines = ctx.drivers.map(async (driver, index) => {
      const result = await upService(ctx, driver, healths[index] ?? { healthy: false, detail: 'not checked' }).finally(() =>
        ctx.releaseInstallTurn(driver.name),
      );
      try {
        // Just-started services can still refuse the first admin call (e.g. a controller electing itself).
        const settle = { attempts: 5, initialDelayMs: 500, maxDelayMs: 3000 };
        if (driver.name === 'kafka') topics = await retry(() => ensureTopics(undefined, endpoints.kafkaBrokers), settle);
        if (driver.name === 'registry') registrySetup = await retry(() => ensureSchemas(ctx.paths.schemas), settle);
      } catch (error) {
        throw stackError(driver.name, errorMessage(error), result.logFile);
      }
      return result;
    });
    const settled: PromiseSettledResult<ServiceUpResult>[] = await Promise.allSettled(pipelines);
    let scramUserCreated = false;
    if (material !== undefined && !settled.some((outcome) => outcome.status === 'rejected')) {
      const kafka = settled[0]?.status === 'fulfilled' ? settled[0].value : undefined;
      const listener = async (): Promise<ServiceUpResult> => {
        const result = await upKafkaListener(ctx, material.secrets, kafka);
        scramUserCreated = result.created;
        return result.service;
      };
      settled.push(
        ...(await Promise.allSettled([listener(), ...SECURE_DRIVERS.map(async (driver) => upService(ctx, driver, await driver.health(ctx)))])),
      );
    }
    const failures = settled.flatMap((outcome) => (outcome.status === 'rejected' ? [errorMessage(outcome.reason)] : []));
    if (failures.length > 0) {
      throw new DriftwatchError('DW_ERR_STACK', `stack up failed:\n${failures.map((failure) => `  ${failure}`).join('\n')}`);
    }
    const services = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    // After the single Redis: its install brings redis-server and redis-cli.
    const redisCluster = options.redisCluster === true ? await redisClusterUp(ctx.paths, ctx.progress) : undefined;
    const setup = registrySetup ?? { compatibility: { level: 'BACKWARD', action: 'exists' as const }, schemas: [] };
    const changed =
      services.some((service) => service.installed || service.started) ||
      (redisCluster !== undefined && (redisCluster.created || redisCluster.nodes.some((node) => node.started))) ||
      topics.some((topic) => topic.action === 'created') ||
      setup.compatibility.action === 'set' ||
      setup.schemas.some((schema) => schema.action === 'registered') ||
      material?.changed === true ||
      scramUserCreated;
    return {
      stackDir: ctx.paths.root,
      endpoints,
      services,
      topics,
      compatibility: setup.compatibility,
      schemas: setup.schemas,
      ...(redisCluster === undefined ? {} : { redisCluster }),
      changed,
      elapsedMs: Math.round(performance.now() - began),
      ...(secure ? { secure: secureInfo(ctx.paths) } : {}),
    };
  });
}

function secureInfo(paths: StackPaths): SecureStackInfo {
  const files = secureFiles(paths);
  return {
    dir: files.dir,
    caFile: files.ca,
    secretsFile: files.secretsEnv,
    topologyFile: files.topology,
    endpoints: { ...SECURE_ENDPOINTS, kafkaBrokers: [...SECURE_ENDPOINTS.kafkaBrokers] },
  };
}

/**
 * A running broker of ours without the SASL_SSL listener (or with old certificates) is stopped, so that
 * it starts again with it: Kafka cannot add a listener without a restart, so `--secure` costs one, once.
 * The TLS Redis and nginx restart when their certificates or credentials were made anew.
 */
async function restartForSecureMaterial(ctx: StackContext, material: SecureMaterial): Promise<void> {
  const stop = async (driver: ServiceDriver, why: string): Promise<void> => {
    const pidFile = ctx.paths.pidFile(driver.name);
    const ours = livePid(pidFile);
    if (ours === undefined) return;
    ctx.progress(`${driver.name}: restarting it (pid ${ours.pid}) ${why}`);
    await stopProcess(ours, driver.stopGraceMs);
    removePidFile(pidFile);
  };
  if (material.newCertificates) await stop(kafkaDriver, 'to serve its SASL_SSL listener with the new certificates');
  else if (!(await portOpen(SECURE_HOST, SECURE_KAFKA_PORT))) await stop(kafkaDriver, `to add the SASL_SSL listener on ${SECURE_KAFKA_ADDRESS}`);
  if (material.newCertificates || material.newSecrets) {
    for (const driver of SECURE_DRIVERS) await stop(driver, 'for the new certificates or credentials');
  }
}

/** The broker's SASL_SSL listener: its SCRAM user made, then checked by logging in. */
async function upKafkaListener(
  ctx: StackContext,
  secrets: SecureSecrets,
  kafka: ServiceUpResult | undefined,
): Promise<{ service: ServiceUpResult; created: boolean }> {
  const logFile = ctx.paths.logFile('kafka');
  if (kafka?.external === true && !(await portOpen(SECURE_HOST, SECURE_KAFKA_PORT))) {
    throw stackError('kafka-sasl', `the Kafka on ${kafkaDriver.address} was not started by \`stack up\` and has no listener on ${SECURE_KAFKA_ADDRESS}; stop it and rerun, or add a SASL_SSL listener yourself`, logFile);
  }
  let created: boolean;
  try {
    created = await ensureScramUser(ctx, secrets);
  } catch (error) {
    throw stackError('kafka-sasl', errorMessage(error), logFile, await logTail(logFile));
  }
  const health = await kafkaSaslHealth(ctx.paths);
  if (!health.healthy) throw stackError('kafka-sasl', `not healthy (${health.detail})`, logFile, await logTail(logFile));
  const service: ServiceUpResult = {
    name: 'kafka-sasl',
    address: SECURE_KAFKA_ADDRESS,
    logFile,
    product: `SASL_SSL listener (SCRAM-SHA-512/256) of ${kafkaDriver.product(ctx)}`,
    pid: kafka?.pid ?? null,
    external: kafka?.external ?? false,
    installed: false,
    started: kafka?.started ?? false,
    ...(kafka?.startMs === undefined ? {} : { startMs: kafka.startMs }),
    health,
  };
  return { service, created };
}

/** The drivers of the services a stack has: the plain ones, and the secure ones once set up (or still running). */
function driversOf(ctx: LayoutContext): readonly ServiceDriver[] {
  if (ctx.layout !== DEFAULT_LAYOUT) return ctx.drivers;
  const secure = isSecureSetUp(ctx.paths) ? SECURE_DRIVERS : SECURE_DRIVERS.filter((driver) => livePid(ctx.paths.pidFile(driver.name)) !== undefined);
  return [...DRIVERS, ...secure];
}

/** Each service's address, pid, health and memory. Only looks; never starts or stops anything. */
export async function stackStatus(options: StackOptions = {}): Promise<StackStatusResult> {
  const ctx = context(options);
  const services = await Promise.all(
    driversOf(ctx).map(async (driver): Promise<ServiceStatus> => {
      const ours = livePid(ctx.paths.pidFile(driver.name));
      const health = await driver.health(ctx);
      const state = ours !== undefined ? 'ours' : health.healthy ? 'external' : 'stopped';
      return {
        name: driver.name,
        address: driver.address,
        pid: ours?.pid ?? null,
        state,
        health,
        memory: ours === undefined ? null : ((await processMemory(ours.pid)) ?? null),
        startedAt: ours?.startedAt ?? null,
        logFile: ctx.paths.logFile(driver.name),
      };
    }),
  );
  if (isSecureSetUp(ctx.paths)) {
    // A listener of the Kafka process: its pid and memory are Kafka's, its health its own.
    const kafka = services[0];
    services.splice(DRIVERS.length, 0, {
      name: 'kafka-sasl',
      address: SECURE_KAFKA_ADDRESS,
      pid: kafka?.pid ?? null,
      state: kafka?.state ?? 'stopped',
      health: await kafkaSaslHealth(ctx.paths),
      memory: kafka?.memory ?? null,
      startedAt: kafka?.startedAt ?? null,
      logFile: ctx.paths.logFile('kafka'),
    });
  }
  const cluster = ctx.layout === DEFAULT_LAYOUT ? await redisClusterStatus(ctx.paths) : [];
  const clusterRuns = cluster.some((node) => node.pid !== null || node.health.healthy);
  return { stackDir: ctx.paths.root, healthy: services.every((service) => service.health.healthy), services, ...(clusterRuns ? { redisCluster: cluster } : {}) };
}

/**
 * Stops what `stack up` started (SIGTERM, then SIGKILL after a grace period). Installs and data stay;
 * `purge` also deletes the data (Kafka log, Redis snapshots, registry database).
 */
export async function stackDown(options: StackOptions & { purge?: boolean } = {}): Promise<StackDownResult> {
  const ctx = context(options);
  return serialised(ctx.paths, ctx.progress, async () => {
    const drivers = driversOf(ctx);
    const services = await Promise.all(
      drivers.map(async (driver): Promise<ServiceDownResult> => {
        const pidFile = ctx.paths.pidFile(driver.name);
        const ours = livePid(pidFile);
        if (ours === undefined) {
          const health = await driver.health(ctx);
          return { name: driver.name, action: health.healthy ? 'external, left running' : 'not running', pid: null };
        }
        ctx.progress(`${driver.name}: stopping pid ${ours.pid}`);
        const outcome = await stopProcess(ours, driver.stopGraceMs);
        removePidFile(pidFile);
        if (outcome === 'killed') ctx.progress(`${driver.name}: did not stop within ${seconds(driver.stopGraceMs)}; killed`);
        return { name: driver.name, action: outcome === 'killed' ? 'killed' : 'stopped', pid: ours.pid };
      }),
    );
    const defaultStack = ctx.layout === DEFAULT_LAYOUT;
    const redisCluster = defaultStack ? await redisClusterDown(ctx.paths) : [];
    const purged: string[] = [];
    if (options.purge === true) {
      const dirs = defaultStack
        ? [...SERVICE_NAMES.map((name) => ctx.paths.dataDir(name)), ...(drivers.includes(redisTlsDriver) ? [redisTlsDataDir(ctx.paths)] : []), redisClusterDataDir(ctx.paths)]
        : drivers.map((driver) => ctx.paths.dataDir(driver.name));
      for (const dir of dirs) {
        rmSync(dir, { recursive: true, force: true });
        purged.push(dir);
      }
      ctx.progress(`purged data: ${purged.join(', ')}`);
    }
    return { stackDir: ctx.paths.root, services, redisCluster, purged };
  });
}

/** The process a stack started for a service, if it runs (fault injection signals it directly). */
export function stackProcess(service: ServiceName, options: StackOptions = {}): PidRecord | undefined {
  return livePid(context(options).paths.pidFile(service));
}
