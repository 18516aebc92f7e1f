/**
 * Shared pieces of the end-to-end benchmark (bench/e2e): the local stack's addresses, resource names,
 * cleanup, the simulated write path (Aggregator → RedisStateStore.applyBatch → compaction, as
 * PredictionBatchProcessor does it, with event time taken from a simulated clock), generated baselines,
 * RSS sampling and in-process CPU profiles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { Session } from 'node:inspector/promises';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { Admission, Aggregator, type BucketDelta } from '../../src/aggregate/index.ts';
import { aggregationBucket, parseTopology, type Topology } from '../../src/config/topology.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import { EvaluationStore } from '../../src/state/evaluation-store.ts';
import { modelKey, type RedisStateStore } from '../../src/state/index.ts';
import { summarizeProfile, type ProfileSummary } from './profile.ts';

export const BROKERS = (process.env['DRIFTWATCH_BENCH_BROKERS'] ?? '127.0.0.1:9092').split(',');
export const REDIS_URL = process.env['DRIFTWATCH_BENCH_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
export const REGISTRY_URL = process.env['DRIFTWATCH_REGISTRY_URL'] ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

/** Names of one phase's resources: all start with the run id so that a final sweep finds leftovers. */
export interface PhaseNames {
  /** Redis key prefix (the key root is `{prefix}`). */
  prefix: string;
  /** Topic / group / subject name stem. */
  stem: string;
}

export const namesFor = (runId: string, phase: string): PhaseNames => ({ prefix: `bench:${runId}:${phase}`, stem: `bench-${runId}-${phase}` });

export function benchKafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING });
}

/**
 * A topology for a benchmark phase: the default topology (windows, rules, retention, labels) with only
 * the addresses, names and the given overrides changed.
 */
export function benchTopology(names: PhaseNames, overrides: Record<string, unknown> = {}, sources: Record<string, unknown> = {}): Topology {
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
      state: { redis_url: REDIS_URL, key_prefix: names.prefix },
      sinks: { alerts_topic: `${names.stem}-alerts`, dlq_topic: `${names.stem}-dlq`, metrics: { port: 0, host: '127.0.0.1' } },
      ...overrides,
    },
    `bench topology ${names.stem}`,
  );
}

export async function createTopics(admin: Admin, topics: { topic: string; numPartitions: number }[]): Promise<void> {
  await admin.createTopics({ topics: topics.map((t) => ({ ...t, replicationFactor: 1 })), waitForLeaders: true });
}

/** Deletes every key under a prefix (SCAN + UNLINK); returns how many. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 10_000);
    if (keys.length > 0) deleted += await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

/** Everything a run left behind, found by its run id: Redis keys, topics, consumer groups, registry subjects. */
export async function sweepRun(runId: string): Promise<{ keys: number; topics: number; groups: number; subjects: number }> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
  let keys = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `{bench:${runId}:*`, 'COUNT', 10_000);
      if (found.length > 0) keys += await redis.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
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
}

/** INFO commandstats for the Lua entry points (EVALSHA + EVAL): Redis CPU time spent in scripts. */
export async function scriptStats(redis: Redis): Promise<RedisCommandStats> {
  const info = await redis.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const name of ['evalsha', 'eval']) {
    const match = new RegExp(`cmdstat_${name}:calls=(\\d+),usec=(\\d+)`).exec(info);
    if (match) {
      calls += Number(match[1]);
      usec += Number(match[2]);
    }
  }
  return { calls, usec };
}

export async function redisMemory(redis: Redis): Promise<{ used: number; max: number }> {
  const info = await redis.info('memory');
  const field = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(info)?.[1] ?? 0);
  return { used: field('used_memory'), max: field('maxmemory') };
}

/** Refuses to start a phase that would push the shared Redis near its maxmemory (noeviction: writes would fail). */
export async function requireRedisRoom(redis: Redis, needBytes: number, what: string): Promise<void> {
  const { used, max } = await redisMemory(redis);
  if (max > 0 && used + needBytes > 0.85 * max) {
    throw new Error(`${what} needs about ${mib(needBytes)} MiB of Redis; ${mib(used)} of ${mib(max)} MiB are in use (maxmemory): not starting`);
  }
}

/** Loads a training baseline per model of a traffic spec from its stationary distribution (as `driftwatch baseline load` does). */
export async function loadBaselines(store: RedisStateStore, spec: TrafficSpec, eventsPerModel: number): Promise<void> {
  const generator = new TrafficGenerator({ ...spec, drift: [], seed: spec.seed + 1000 });
  const aggregator = new Aggregator({ bucketMs: Number.MAX_SAFE_INTEGER, maxModels: 100_000, maxFeaturesPerModel: 1000, maxCategories: 100 });
  for (let i = 0; i < eventsPerModel * spec.models; i++) aggregator.record(generator.next(0, 0));
  const evaluations = new EvaluationStore(store.redis, store.keys);
  for (const delta of aggregator.drain().deltas) {
    await evaluations.saveBaseline(modelKey(delta.predictor, delta.model), delta.summary, { predictor: delta.predictor, model: delta.model });
  }
}

export interface SimulatedWriteStats {
  batches: number;
  events: number;
  appends: number;
  compactions: number;
  writeMs: number;
  compactMs: number;
  aggregateMs: number;
}

/**
 * The state write of one batch as PredictionBatchProcessor does it: one RedisStateStore.applyBatch
 * (watermark compare-and-set, both resolutions, TTLs), then every list that reached the compaction
 * length is compacted (RedisStateStore.compact; the worker does not wait for it, this does, so that
 * runs are deterministic).
 */
export class BatchApplier {
  private watermark = -1;
  readonly stats: SimulatedWriteStats = { batches: 0, events: 0, appends: 0, compactions: 0, writeMs: 0, compactMs: 0, aggregateMs: 0 };

  constructor(private readonly store: RedisStateStore) {}

  async apply(deltas: readonly BucketDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    const t1 = performance.now();
    const expected = this.watermark < 0 ? '' : String(this.watermark);
    const result = await this.store.applyBatch({
      topic: 'bench-simulated',
      partition: 0,
      expectedWatermark: expected,
      newWatermark: String(this.watermark + 1),
      deltas,
      deadLetters: new Map(),
      overflowModelEvents: 0,
    });
    if (!result.applied) throw new Error(`simulated write refused: watermark is ${result.watermark}, expected ${expected}`);
    this.watermark++;
    const t2 = performance.now();
    for (const key of result.longLists) if (await this.store.compact(key)) this.stats.compactions++;
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
    store: RedisStateStore,
    private readonly topology: Topology,
    private readonly spec: TrafficSpec,
    private readonly ratePerModel: number,
    /** Event time the spec's drift schedule counts from. */
    private readonly origin: number,
  ) {
    this.generator = new TrafficGenerator(spec);
    this.admission = new Admission(topology.state.caps.models, topology.state.caps.features_per_model);
    this.applier = new BatchApplier(store);
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
