/**
 * Shared pieces of the end-to-end benchmark (bench/e2e): resource names, cleanup, the simulated write
 * path (Aggregator → the state's prediction write → compaction, as the prediction source does it, with
 * event time taken from a simulated clock), Redis CPU figures, RSS sampling and in-process CPU profiles.
 * The stack's addresses, the state modes and generated baselines come from the shared kit (test/kit).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { Session } from 'node:inspector/promises';
import { Cluster, Redis } from 'ioredis';
import type { Admin, Kafka } from 'kafkajs';
import { Admission, Aggregator, modelKey, type BucketDelta } from '../../src/aggregate/index.ts';
import { aggregationBucket, parseTopology, type Topology } from '../../src/config/topology.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import type { SummaryState } from '../../src/runtime/state.ts';
import { kafkaClient } from '../../src/sources/kafka/client.ts';
import type { ModelWrite } from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { ENDPOINTS, rawRedis, stateAddress, type StateMode } from '../../test/kit/index.ts';
import { summarizeProfile, type ProfileSummary } from './profile.ts';

export { loadGeneratedBaselines as loadBaselines } from '../../test/kit/index.ts';
export const BROKERS = ENDPOINTS.brokers;
export const REDIS_URL = ENDPOINTS.redisUrl;
export const REGISTRY_URL = ENDPOINTS.registryUrl;

/** Names of one phase's resources: all start with the run id so that a final sweep finds leftovers. */
export interface PhaseNames {
  /** Redis key prefix (the key root is `{prefix}`). */
  prefix: string;
  /** Topic / group / subject name stem. */
  stem: string;
}

export const namesFor = (runId: string, phase: string): PhaseNames => ({ prefix: `bench:${runId}:${phase}`, stem: `bench-${runId}-${phase}` });

/** A Kafka client as workers make it (kafkaClient: the topology's TLS/SASL too), silent. */
export function benchKafka(clientId: string): Kafka {
  return kafkaClient(parseTopology({ sources: { brokers: BROKERS, registry_url: REGISTRY_URL } }, 'bench').sources, createLogger('bench-kafka', 'silent'), clientId);
}

/**
 * A topology for a benchmark phase: the default topology (windows, rules, retention, labels) with only
 * the addresses, names and the given overrides changed.
 */
export function benchTopology(names: PhaseNames, overrides: Record<string, unknown> = {}, sources: Record<string, unknown> = {}, mode: StateMode = 'single'): Topology {
  return parseTopology(
    {
      sources: {
        brokers: BROKERS,
        registry_url: REGISTRY_URL,
        group_id: `${names.stem}-group`,
        client_id: names.stem,
        predictions: { topics: [`${names.stem}-predictions`] },
        labels: { topics: [`${names.stem}-labels`] },
        ...sources,
      },
      state: { ...stateAddress(mode), key_prefix: names.prefix },
      sinks: { alerts_topic: `${names.stem}-alerts`, dlq_topic: `${names.stem}-dlq`, metrics: { port: 0, host: '127.0.0.1' } },
      ...overrides,
    },
    `bench topology ${names.stem}`,
  );
}

export async function createTopics(admin: Admin, topics: { topic: string; numPartitions: number }[]): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
}

/** Deletes every key of a phase (both tag forms of its prefix, on every master); returns how many. */
export async function deleteKeys(client: Redis | Cluster, match: string): Promise<number> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  let deleted = 0;
  for (const node of client instanceof Cluster ? client.nodes('master') : [client]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', match, 'COUNT', 10_000);
      // One key per UNLINK: keys of different slots in one command are refused on a cluster node.
      if (keys.length > 0) deleted += (await Promise.all(keys.map((key) => node.unlink(key)))).reduce((a, b) => a + b, 0);
      cursor = next;
    } while (cursor !== '0');
  }
  return deleted;
}

/** Everything a run left behind, found by its run id: Redis keys (single and cluster), topics, consumer groups, registry subjects. */
export async function sweepRun(runId: string): Promise<{ keys: number; topics: number; groups: number; subjects: number }> {
  let keys = 0;
  for (const mode of ['single', 'cluster'] as const) {
    const client = rawRedis(mode);
    try {
      // Tags of a phase start "{bench:<run>:<phase>" (then "}" or "|").
      keys += await deleteKeys(client, `{bench:${runId}:*`);
    } catch {
      // That deployment is not running: nothing of this run is there.
    } finally {
      client.disconnect();
    }
  }
  const admin = benchKafka(`bench-${runId}-sweep`).admin();
  let topics = 0;
  let groups = 0;
  try {
    await admin.connect();
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(`bench-${runId}-`));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
    topics = mine.length;
    const ours = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(`bench-${runId}-`));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => undefined);
    groups = ours.length;
  } finally {
    await admin.disconnect();
  }
  let subjects = 0;
  try {
    const list = (await (await fetch(`${REGISTRY_URL}/subjects`)).json()) as unknown;
    for (const subject of Array.isArray(list) ? list : []) {
      if (typeof subject !== 'string' || !subject.startsWith(`bench-${runId}-`)) continue;
      await fetch(`${REGISTRY_URL}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE' });
      subjects++;
    }
  } catch {
    // The registry keeps a stray subject: harmless.
  }
  return { keys, topics, groups, subjects };
}

export function machineInfo() {
  const list = cpus();
  return {
    nproc: list.length,
    cpu: list[0]?.model ?? 'unknown',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadavg_at_start: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Samples process RSS every `everyMs` and keeps the peak (process.memoryUsage.rss is cheap). */
export class RssSampler {
  readonly startMiB = mib(process.memoryUsage.rss());
  private peak = process.memoryUsage.rss();
  private readonly timer: NodeJS.Timeout;

  constructor(everyMs = 100) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  stop(): { start_mib: number; peak_mib: number; end_mib: number } {
    clearInterval(this.timer);
    const end = this.sample();
    return { start_mib: this.startMiB, peak_mib: mib(this.peak), end_mib: mib(end) };
  }
}

export const mib = (bytes: number): number => Math.round((bytes / 2 ** 20) * 10) / 10;
export const round = (value: number, digits = 0): number => Math.round(value * 10 ** digits) / 10 ** digits;

/** A CPU profile of this process between start() and stop(), summarized (hotspots by self time). */
export class Profiler {
  private session: Session | undefined;

  async start(): Promise<void> {
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 500 });
    await this.session.post('Profiler.start');
  }

  async stop(top = 20): Promise<ProfileSummary | undefined> {
    if (!this.session) return undefined;
    const { profile } = await this.session.post('Profiler.stop');
    this.session.disconnect();
    this.session = undefined;
    return summarizeProfile(profile, top);
  }
}

export interface RedisCommandStats {
  calls: number;
  usec: number;
  /** Redis' own CPU time (INFO cpu: used_cpu_user + used_cpu_sys), seconds. */
  cpuSeconds: number;
}

/**
 * INFO commandstats for the Lua entry points (EVALSHA + EVAL: Redis time spent in scripts) and INFO cpu
 * (all of Redis' CPU), added up over every master of a cluster.
 */
export async function scriptStats(client: Redis | Cluster): Promise<RedisCommandStats> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  const stats: RedisCommandStats = { calls: 0, usec: 0, cpuSeconds: 0 };
  for (const node of client instanceof Cluster ? client.nodes('master') : [client]) {
    const info = await node.info('commandstats');
    for (const name of ['evalsha', 'eval']) {
      const match = new RegExp(`cmdstat_${name}:calls=(\\d+),usec=(\\d+)`).exec(info);
      if (match) {
        stats.calls += Number(match[1]);
        stats.usec += Number(match[2]);
      }
    }
    const cpu = await node.info('cpu');
    stats.cpuSeconds += Number(/used_cpu_user:([\d.]+)/.exec(cpu)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(cpu)?.[1] ?? 0);
  }
  return stats;
}

export async function redisMemory(redis: Redis | Cluster): Promise<{ used: number; max: number }> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0);
  return { used: field('used_memory'), max: field('maxmemory') };
}

/** Refuses to start a phase that would push the shared Redis near its maxmemory (noeviction: writes would fail). */
export async function requireRedisRoom(redis: Redis | Cluster, needBytes: number, what: string): Promise<void> {
  const { used, max } = await redisMemory(redis);
  if (max > 0 && used + needBytes > 0.85 * max) {
    throw new Error(`${what} needs about ${mib(needBytes)} MiB of Redis; ${mib(used)} of ${mib(max)} MiB are in use (maxmemory): not starting`);
  }
}

export interface SimulatedWriteStats {
  batches: number;
  events: number;
  appends: number;
  writeMs: number;
  compactMs: number;
  aggregateMs: number;
}

/** Bucket deltas (an Aggregator's drain) as one write's per-model parts, as the prediction plan makes them. */
export function modelWrites(deltas: readonly BucketDelta[], firstOffset: number): ModelWrite[] {
  const models = new Map<string, ModelWrite & { features: Map<string, number>; buckets: { start: number; bytes: Buffer }[] }>();
  for (const delta of deltas) {
    const key = modelKey(delta.predictor, delta.model);
    let model = models.get(key);
    if (!model) models.set(key, (model = { key, predictor: delta.predictor, model: delta.model, role: delta.role, firstOffset, count: 0, errors: 0, features: new Map(), buckets: [] }));
    model.count += delta.summary.count;
    model.errors += delta.summary.errors;
    for (const [feature, values] of delta.summary.features) model.features.set(feature, (model.features.get(feature) ?? 0) + values.logged);
    model.buckets.push({ start: delta.bucketStart, bytes: delta.summary.encode() });
  }
  return [...models.values()];
}

/**
 * The state write of one batch as the prediction source does it (one offset per batch of a simulated
 * partition), then waits for the compactions it asked for (the worker does not wait for them; this
 * does, so that runs are deterministic).
 */
export class BatchApplier {
  private watermark = -1;
  readonly stats: SimulatedWriteStats = { batches: 0, events: 0, appends: 0, writeMs: 0, compactMs: 0, aggregateMs: 0 };

  constructor(private readonly state: SummaryState) {}

  async apply(deltas: readonly BucketDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const t1 = performance.now();
    const offset = this.watermark + 1;
    const result = await this.state.batches.applyPredictions({
      topic: 'bench-simulated',
      partition: 0,
      first: offset,
      last: offset,
      models: modelWrites(deltas, offset),
      joinGroups: [],
      deadLetters: new Map(),
      overflowModelEvents: 0,
    });
    if (result.kind !== 'applied') throw new Error(`simulated write refused: ${JSON.stringify(result)}`);
    this.watermark = offset;
    const t2 = performance.now();
    await this.state.admin.settleCompactions();
    this.stats.batches++;
    this.stats.appends += deltas.length * 2;
    this.stats.writeMs += t2 - t1;
    this.stats.compactMs += performance.now() - t2;
  }
}

/**
 * The worker's write path with event time from a simulated clock: events of `spec` at `ratePerModel`
 * events/s per model, cut into batches of `batchMs` of event time; each batch is aggregated
 * (Aggregator with a shared Admission and the topology's caps) and written by a BatchApplier. No
 * decode and no Kafka: the state written is the same.
 */
export class SimulatedWriter {
  private readonly generator: TrafficGenerator;
  private readonly admission: Admission;
  private readonly applier: BatchApplier;

  constructor(
    state: SummaryState,
    private readonly topology: Topology,
    private readonly spec: TrafficSpec,
    private readonly ratePerModel: number,
    /** Event time the spec's drift schedule counts from. */
    private readonly origin: number,
  ) {
    this.generator = new TrafficGenerator(spec);
    this.admission = new Admission(topology.state.caps.models, topology.state.caps.features_per_model);
    this.applier = new BatchApplier(state);
  }

  get stats(): SimulatedWriteStats {
    return this.applier.stats;
  }

  /** Writes the traffic of event time [from, to) in batches of `batchMs`. */
  async write(from: number, to: number, batchMs: number, onEvent?: (event: PredictionEvent) => void): Promise<void> {
    for (let start = from; start < to; start += batchMs) await this.writeBatch(start, Math.min(to, start + batchMs), onEvent);
  }

  /** Writes the traffic of event time [start, end) as one batch (one applyBatch). */
  async writeBatch(start: number, end: number, onEvent?: (event: PredictionEvent) => void): Promise<void> {
    const perMs = (this.ratePerModel * this.spec.models) / 1000;
    const count = Math.round(end * perMs) - Math.round(start * perMs);
    if (count <= 0) return;
    const t0 = performance.now();
    const aggregator = new Aggregator(
      {
        bucketMs: aggregationBucket(this.topology),
        maxModels: this.topology.state.caps.models,
        maxFeaturesPerModel: this.topology.state.caps.features_per_model,
        maxCategories: this.topology.state.caps.categories_per_feature,
      },
      this.admission,
    );
    for (let i = 0; i < count; i++) {
      const sentAt = Math.floor(start + ((i + 0.5) * (end - start)) / count);
      const event = this.generator.next(sentAt, sentAt - this.origin);
      onEvent?.(event);
      aggregator.record(event);
    }
    const drained = aggregator.drain();
    this.applier.stats.aggregateMs += performance.now() - t0;
    this.applier.stats.events += count;
    await this.applier.apply(drained.deltas);
  }
}

/** Splits `items` into chunks of `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const quantile = (sorted: readonly number[], q: number): number => {
  if (sorted.length === 0) return Number.NaN;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
};

export interface CpuSnapshot {
  at: number;
  ticks: Map<number, number>;
  /** Machine-wide /proc/stat "cpu" line: total and steal jiffies (a VM's CPU taken by the hypervisor). */
  total: number;
  steal: number;
}

function machineJiffies(): { total: number; steal: number } {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return { total: 0, steal: 0 };
  }
}

/** Share of the machine's CPU time the hypervisor took (steal) since a snapshot, %. */
export function stealSince(snapshot: CpuSnapshot): number {
  const now = machineJiffies();
  const total = now.total - snapshot.total;
  return total > 0 ? Math.round((1000 * (now.steal - snapshot.steal)) / total) / 10 : 0;
}

export interface BusyProcess {
  pid: number;
  cpu_percent: number;
  /** stack: Kafka, Redis or the registry (part of what is measured); other: anything else on the machine. */
  kind: 'stack' | 'other';
  command: string;
}

/** CPU time (clock ticks) of every process, from /proc/<pid>/stat. */
export function cpuSnapshot(): CpuSnapshot {
  const ticks = new Map<number, number>();
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc: nothing to report
  }
  return { at: performance.now(), ticks, ...machineJiffies() };
}

/**
 * Processes that used more than `minPercent` of a core since `snapshot`, but for `exclude` (this
 * process, the phase's process): the machine is shared, so every figure records who else was busy.
 */
export function cpuSince(snapshot: CpuSnapshot, exclude: ReadonlySet<number> = new Set([process.pid]), minPercent = 10): BusyProcess[] {
  const now = cpuSnapshot();
  const seconds = (now.at - snapshot.at) / 1000;
  if (seconds <= 0) return [];
  const busy: BusyProcess[] = [];
  for (const [pid, ticks] of now.ticks) {
    if (exclude.has(pid)) continue;
    const percent = ((ticks - (snapshot.ticks.get(pid) ?? ticks)) / 100 / seconds) * 100;
    if (percent < minPercent) continue;
    let command = '?';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      // gone meanwhile
    }
    const kind = /redis-server|kafka\.Kafka|apicurio/.test(command) ? 'stack' : 'other';
    busy.push({ pid, cpu_percent: Math.round(percent), kind, command: kind === 'stack' ? (/redis-server|kafka\.Kafka|apicurio/.exec(command)?.[0] ?? command) : command.slice(0, 100) });
  }
  return busy.sort((a, b) => b.cpu_percent - a.cpu_percent);
}

/** CPU share (% of one core) that processes outside the stack took meanwhile. */
export const otherLoad = (busy: readonly BusyProcess[]): number => busy.filter((p) => p.kind === 'other').reduce((sum, p) => sum + p.cpu_percent, 0);

export async function busyProcesses(sampleMs = 1000, minPercent = 15): Promise<BusyProcess[]> {
  const snapshot = cpuSnapshot();
  await new Promise((resolve) => setTimeout(resolve, sampleMs));
  return cpuSince(snapshot, new Set([process.pid]), minPercent);
}
