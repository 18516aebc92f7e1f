/**
 * State size: Redis bytes per monitored feature series at the default retention (recent 10-second
 * buckets kept 1 minute, fine 1-minute buckets kept 90 minutes, coarse 1-hour buckets kept 48 hours), in
 * the steady state of a stream of 100 events/s per model.
 *
 * How: a simulated clock. Event time starts at an hour boundary H and runs 92.5 minutes; the traffic
 * (DEFAULT_TRAFFIC: 16 numeric + 4 categorical features, 1 % missing, 2 % defaults, 0.5 % errors) is
 * written through the real write path (SimulatedWriter: Aggregator → applyBatch → compaction when a list
 * reaches 16 elements). A bucket list then holds one merged summary plus the last r appended deltas,
 * r = (appends − 1) mod 15; what r deltas weigh depends on how many events of the model one batch
 * carries, so the batch schedule is explicit:
 *  - `tail` (the bar figure): a worker keeping up with 100 events/s per model fetches small batches
 *    (kafkajs returns as soon as anything is there; the real-time detection run reports the mean batch
 *    size). Each minute is written in 5-second batches, then its last 15–29 batches (random per minute,
 *    so r varies) carry `tailEvents` events per model each: the deltas that stay uncompacted are small.
 *  - `uniform`: every batch carries ~`batchMs` of traffic (random 0.5–1.5 × batchMs): e.g. a worker
 *    flushing once a second, 100 events per model per delta — a sensitivity figure.
 * A worker also evaluates (the default): an EvaluationLoop (baselines loaded, the default reference
 * kind, so it reads the current window's fine buckets and no coarse ones) ticks every 10 s of event
 * time during the stream, and its reads write merged buckets back (RedisStateStore.buckets), as a
 * running worker's do. `evaluate: false` leaves that out.
 * At that moment the buckets Redis still holds in a steady stream are:
 *  - recent and fine: every bucket whose last write (its end) is less than keep + bucket old (70 s, resp.
 *    91 min), i.e. the last 7 recent and the 92 fine buckets after H (older ones have expired: deleted
 *    here, as their TTLs would have);
 *  - coarse: the partial current hour H+1h, the complete hour H (streamed), and the 48 hours before H,
 *    which a steady stream has filled exactly like H: copies of H's complete coarse bucket (DUMP/RESTORE).
 * Then MEMORY USAGE (SAMPLES 0: exact) of every key under the prefix (SCAN), divided by the number of
 * feature series: models × 21 (20 features + the prediction). Label-join records are per prediction, not
 * per series: measured in the ingest phase and reported beside this.
 */
import { Redis } from 'ioredis';
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { createRandom } from '../../src/random.ts';
import { modelKey } from '../../src/aggregate/index.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { benchKafka, benchTopology, createTopics, loadBaselines, REDIS_URL, requireRedisRoom, round, SimulatedWriter, type PhaseNames } from './common.ts';
import { evaluationRig, type Rig } from './rig.ts';

const HOUR = 3_600_000;
const MINUTE = 60_000;
const TICK = 10_000;

async function baselineMemory(redis: Redis, prefix: string): Promise<number> {
  let bytes = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}|m|*}:baseline`, 'COUNT', 1000);
    for (const key of keys) bytes += Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
    cursor = next;
  } while (cursor !== '0');
  return bytes;
}

export type StateSchedule = { kind: 'tail'; tailEvents: number } | { kind: 'uniform'; batchMs: number };

export async function measureStateSize(input: { names: PhaseNames; models: number; ratePerModel: number; schedule: StateSchedule; evaluate: boolean }) {
  const topology = benchTopology(input.names);
  const { recent, fine, coarse } = topology.state.retention;
  const state = openTopologyState(topology);
  const redis = new Redis(REDIS_URL);
  let rig: Rig | undefined;
  const admin = benchKafka(`${input.names.stem}-admin`).admin();
  await admin.connect();
  if (input.evaluate) await createTopics(admin, [{ topic: topology.sinks.alerts_topic, numPartitions: 1 }]);
  try {
    await requireRedisRoom(redis, input.models * 8 * 2 ** 20, 'the state-size phase');
    const spec = { ...DEFAULT_TRAFFIC, seed: 301, models: input.models };
    const seriesPerModel = spec.numericFeatures + spec.categoricalFeatures + 1;
    // Event time: any hour boundary (TTLs run on Redis' clock; bucket keys only name event time).
    const H = Math.floor(Date.now() / HOUR) * HOUR - 4 * HOUR;
    const T = H + 92 * MINUTE + 30_000;
    const writer = new SimulatedWriter(state, topology, spec, input.ratePerModel, H);
    const started = performance.now();
    const random = createRandom(17);
    const { schedule } = input;
    // The evaluation loop, ticking every 10 s of event time as the batches reach it.
    if (input.evaluate) {
      rig = await evaluationRig(topology, `${input.names.stem}-worker`);
      await loadBaselines(rig.state, spec, 20_000);
    }
    let nextTick = H + TICK;
    let ticks = 0;
    const batch = async (start: number, end: number) => {
      await writer.writeBatch(start, end);
      while (rig && nextTick <= end) {
        await rig.loop.tick(nextTick);
        nextTick += TICK;
        ticks++;
      }
    };
    if (schedule.kind === 'uniform') {
      for (let start = H; start < T; ) {
        const end = Math.min(T, start + Math.round(schedule.batchMs * (0.5 + random.next())));
        await batch(start, end);
        start = end;
      }
    } else {
      const tailBatchMs = (schedule.tailEvents * 1000) / input.ratePerModel;
      for (let minute = H; minute < T; minute += MINUTE) {
        const minuteEnd = Math.min(T, minute + MINUTE);
        const tailStart = minuteEnd - (15 + Math.floor(15 * random.next())) * tailBatchMs;
        for (let start = minute; start < tailStart; start += 5000) await batch(start, Math.min(tailStart, start + 5000));
        for (let start = tailStart; start < minuteEnd; start += tailBatchMs) await batch(start, Math.min(minuteEnd, start + tailBatchMs));
      }
    }
    // Write-backs are fire-and-forget: let the last ones land.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const baselineBytes = rig ? await baselineMemory(redis, topology.state.key_prefix) : 0;
    const writeSeconds = (performance.now() - started) / 1000;

    const models = Array.from({ length: input.models }, (_, i) => modelKey(spec.predictor, `${spec.predictor}-v${i + 1}`));
    // A bucket lives until keep + bucket after its last write (its end): older ones have expired.
    let expired = 0;
    let expiredRecent = 0;
    for (const model of models) {
      const keys = state.keys.model(model);
      for (let start = H; start + fine.bucket + fine.keep + fine.bucket <= T; start += fine.bucket) expired += await redis.unlink(keys.bucket('fine', start));
      if (!recent) continue;
      // One model's keys share its hash tag: one UNLINK may name many.
      const stale: string[] = [];
      for (let start = H; start + recent.bucket + recent.keep + recent.bucket <= T; start += recent.bucket) stale.push(keys.bucket('recent', start));
      for (let i = 0; i < stale.length; i += 500) expiredRecent += await redis.unlink(...stale.slice(i, i + 500));
    }
    // The 48 complete hours before H: the same content as H's complete coarse bucket.
    let copies = 0;
    for (const model of models) {
      const source = state.keys.model(model).bucket('coarse', H);
      const dump = await redis.dumpBuffer(source);
      const ttl = await redis.pttl(source);
      if (!dump) throw new Error(`${source} is missing`);
      for (let start = H - coarse.bucket; start + coarse.bucket + coarse.keep + coarse.bucket > T; start -= coarse.bucket) {
        await redis.restore(state.keys.model(model).bucket('coarse', start), Math.max(ttl, 1), dump, 'REPLACE');
        copies++;
      }
    }

    // Every key of the prefix, by kind.
    const kinds = new Map<string, { keys: number; bytes: number; elements: number }>();
    for (const pattern of state.keys.patterns()) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        for (const key of keys) {
          const bytes = Number((await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0);
          const kind = key.includes('}:b:recent:')
            ? 'recent buckets'
            : key.includes('}:b:fine:')
              ? 'fine buckets'
              : key.includes('}:b:coarse:')
                ? 'coarse buckets'
                : key.endsWith('}:baseline')
                  ? 'baselines (not counted: loaded reference, not retention)'
                  : 'other keys (models, features, totals, watermarks, alert states, leases)';
          const elements = kind.endsWith('buckets') ? await redis.llen(key) : 0;
          const entry = kinds.get(kind) ?? { keys: 0, bytes: 0, elements: 0 };
          entry.keys++;
          entry.bytes += bytes;
          entry.elements += elements;
          kinds.set(kind, entry);
        }
        cursor = next;
      } while (cursor !== '0');
    }
    const total = [...kinds.entries()].filter(([kind]) => !kind.startsWith('baselines')).reduce((sum, [, kind]) => sum + kind.bytes, 0);
    const series = input.models * seriesPerModel;
    return {
      models: input.models,
      series,
      series_per_model: seriesPerModel,
      rate_per_model: input.ratePerModel,
      schedule,
      simulated_minutes_streamed: round((T - H) / MINUTE, 1),
      events_written: writer.stats.events,
      apply_batches: writer.stats.batches,
      evaluated: input.evaluate,
      evaluation_ticks: ticks,
      baseline_bytes_per_series: Math.round(baselineBytes / (input.models * seriesPerModel)),
      fine_buckets_expired_deleted: expired,
      recent_buckets_expired_deleted: expiredRecent,
      coarse_buckets_copied: copies,
      write_seconds: round(writeSeconds, 1),
      total_bytes: total,
      bytes_per_series: Math.round(total / series),
      kib_per_series: round(total / series / 1024, 1),
      by_kind: [...kinds.entries()].map(([kind, entry]) => ({
        kind,
        keys: entry.keys,
        bytes: entry.bytes,
        kib_per_series: round(entry.bytes / series / 1024, 1),
        mean_list_length: entry.elements > 0 ? round(entry.elements / entry.keys, 1) : undefined,
        mean_bytes_per_key: Math.round(entry.bytes / entry.keys),
      })),
    };
  } finally {
    await rig?.close();
    await state.admin.purge();
    redis.disconnect();
    await state.close();
    if (input.evaluate) await admin.deleteTopics({ topics: [topology.sinks.alerts_topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
