/**
 * Ingest: pre-produce N Avro prediction logs to a 6-partition topic, then consume them
 *  - with kafkajs only (fetch), + decodeValue/validatePrediction (decode), + Aggregator and the
 *    summaries' encoding (aggregate, with a per-stage time split) — no Redis;
 *  - with one real worker (startWorker, evaluate off, start_from earliest), labels join on or off,
 * each in its own process and consumer group, timed from joining the group until every event is in
 * Redis (the partitions' offset watermarks cover the topic) and until the group's committed offsets
 * reach the end.
 */
import { readFileSync } from 'node:fs';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { Admission, Aggregator } from '../../src/aggregate/index.ts';
import { decodeValue, DEFAULT_LIMITS, unresolvedSchemaIds, validatePrediction } from '../../src/decode/index.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { registerSchema } from '../../src/sinks/register-schema.ts';
import { startWorker } from '../../src/pipeline.ts';
import { aggregationBucket } from '../../src/config/topology.ts';
import { kafkaClient } from '../../src/sources/kafka/client.ts';
import { encodeAvro, predictionType, PREDICTION_SCHEMA_FILE } from '../../src/produce/encode.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import { registryConnection } from '../../src/sources/registry-client.ts';
import { SchemaRegistryCache } from '../../src/sources/schema-registry.ts';
import { modelKey } from '../../src/aggregate/index.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { rawRedis, scanKeys, type StateMode } from '../../test/kit/index.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import {
  benchKafka,
  benchTopology,
  createTopics,
  Profiler,
  round,
  RssSampler,
  scriptStats,
  type PhaseNames,
} from './common.ts';

export const INGEST_PARTITIONS = 6;

export interface IngestTopic {
  names: PhaseNames;
  topic: string;
  events: number;
  models: number;
  seed: number;
}

export const ingestSpec = (models: number, seed: number): TrafficSpec => ({ ...DEFAULT_TRAFFIC, seed, models });

/** Creates the topic (and the empty labels / DLQ / alerts topics the workers use) and produces the events. */
export async function produceIngestTopic(input: IngestTopic) {
  const kafka = benchKafka(`${input.names.stem}-producer`);
  const admin = kafka.admin();
  await admin.connect();
  await createTopics(admin, [
    { topic: input.topic, numPartitions: INGEST_PARTITIONS },
    { topic: `${input.names.stem}-labels`, numPartitions: 1 },
    { topic: `${input.names.stem}-dlq`, numPartitions: 1 },
    { topic: `${input.names.stem}-alerts`, numPartitions: 1 },
  ]);
  await admin.disconnect();
  // The id of the schema these bytes follow, under the topic's own subject (never a subject's latest version).
  const schemaId = await registerSchema(registryConnection(benchTopology(input.names).sources), `${input.topic}-value`, readFileSync(PREDICTION_SCHEMA_FILE, 'utf8'));
  const type = predictionType();
  const generator = new TrafficGenerator(ingestSpec(input.models, input.seed));
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const started = performance.now();
  let bytes = 0;
  const inFlight = new Set<Promise<unknown>>();
  const CHUNK = 5000;
  for (let sent = 0; sent < input.events; sent += CHUNK) {
    const messages = [];
    const now = Date.now();
    for (let i = 0; i < Math.min(CHUNK, input.events - sent); i++) {
      const event = generator.next(now, 0);
      const value = encodeAvro(type, schemaId, event);
      bytes += value.length;
      messages.push({ key: event.prediction_id, value });
    }
    const sending: Promise<unknown> = producer.send({ topic: input.topic, messages }).finally(() => inFlight.delete(sending));
    inFlight.add(sending);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await producer.disconnect();
  const seconds = (performance.now() - started) / 1000;
  return { events: input.events, partitions: INGEST_PARTITIONS, models: input.models, mean_value_bytes: round(bytes / input.events, 1), produce_seconds: round(seconds, 2), produce_events_per_s: Math.round(input.events / seconds), schema_id: schemaId };
}

export type ConsumeMode = 'fetch' | 'decode' | 'aggregate';

/**
 * kafkajs with the worker's client and consumer settings (pipeline.ts), and per batch: nothing (fetch),
 * decode + validate (decode), or decode + validate + aggregate + encode the summaries as applyBatch
 * would (aggregate). No Redis.
 */
export async function consumeWithoutRedis(input: IngestTopic & { mode: ConsumeMode; group: string }) {
  const topology = benchTopology(input.names, {}, { group_id: input.group, predictions: { topics: [input.topic] }, start_from: 'earliest' });
  const logger = createLogger('bench', 'warn');
  const kafka = kafkaClient(topology.sources, logger, `${input.group}-client`);
  const consumer: Consumer = kafka.consumer({
    groupId: input.group,
    sessionTimeout: topology.sources.session_timeout,
    heartbeatInterval: Math.max(500, Math.floor(topology.sources.session_timeout / 10)),
    rebalanceTimeout: Math.max(topology.sources.session_timeout, 30_000),
  });
  const schemas = new SchemaRegistryCache(registryConnection(topology.sources));
  const limits = {
    ...DEFAULT_LIMITS,
    allowedLatenessMs: topology.windows.allowed_lateness,
    maxFutureMs: topology.windows.max_future,
    maxFeatures: topology.sources.max_features_per_event,
  };
  const aggregation = {
    bucketMs: aggregationBucket(topology),
    maxModels: topology.state.caps.models,
    maxFeaturesPerModel: topology.state.caps.features_per_model,
    maxCategories: topology.state.caps.categories_per_feature,
  };
  const admission = new Admission(aggregation.maxModels, aggregation.maxFeaturesPerModel);
  const stages = { schemas_ms: 0, decode_ms: 0, validate_ms: 0, aggregate_ms: 0, drain_encode_ms: 0 };
  let valid = 0;
  let seen = 0;
  let batches = 0;
  let encodedBytes = 0;
  let ready = 0;
  let done = 0;
  let resolveDone: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (resolveDone = resolve));
  const rss = new RssSampler();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (ready === 0) ready = performance.now();
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [input.topic], fromBeginning: true });
  const started = performance.now();
  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }: EachBatchPayload) => {
      const messages = batch.messages;
      if (messages.length === 0) return;
      batches++;
      if (input.mode !== 'fetch') {
        const now = Date.now();
        // resolveSchemas, split so that only its synchronous scan is timed: an await would also count the
        // other partition's batch, which runs meanwhile (partitionsConsumedConcurrently: 2).
        let t = performance.now();
        const missing = unresolvedSchemaIds(
          messages.map((message) => message.value),
          schemas,
        );
        let t2 = performance.now();
        stages.schemas_ms += t2 - t;
        if (missing.size > 0) await schemas.resolve(missing);
        t = performance.now();
        const records: unknown[] = [];
        for (const message of messages) {
          const decoded = decodeValue(message.value, topology.sources.max_message_bytes, schemas);
          if (decoded.ok) records.push(decoded.record);
        }
        t2 = performance.now();
        stages.decode_ms += t2 - t;
        t = t2;
        const events: PredictionEvent[] = [];
        for (const record of records) {
          const validated = validatePrediction(record, now, limits);
          if (validated.ok) events.push(validated.event);
        }
        t2 = performance.now();
        stages.validate_ms += t2 - t;
        t = t2;
        valid += events.length;
        if (input.mode === 'aggregate') {
          const aggregator = new Aggregator(aggregation, admission);
          for (const event of events) aggregator.record(event);
          t2 = performance.now();
          stages.aggregate_ms += t2 - t;
          t = t2;
          // What applyBatch does on the client before Redis: one encoding per delta and key names.
          for (const delta of aggregator.drain().deltas) {
            encodedBytes += delta.summary.encode().length;
            modelKey(delta.predictor, delta.model);
          }
          stages.drain_encode_ms += performance.now() - t;
        }
      }
      resolveOffset(messages[messages.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
      seen += messages.length;
      if (seen >= input.events && done === 0) {
        done = performance.now();
        resolveDone();
      }
    },
  });
  await finished;
  const memory = rss.stop();
  await consumer.disconnect();
  const seconds = (done - ready) / 1000;
  const perEventUs = (ms: number) => round((1000 * ms) / input.events, 2);
  return {
    mode: input.mode,
    events: seen,
    valid: input.mode === 'fetch' ? undefined : valid,
    batches,
    mean_batch_messages: Math.round(seen / batches),
    seconds: round(seconds, 2),
    events_per_s: Math.round(input.events / seconds),
    join_seconds: round((ready - started) / 1000, 2),
    stages_us_per_event:
      input.mode === 'fetch'
        ? undefined
        : {
            schemas: perEventUs(stages.schemas_ms),
            decode: perEventUs(stages.decode_ms),
            validate: perEventUs(stages.validate_ms),
            ...(input.mode === 'aggregate' ? { aggregate: perEventUs(stages.aggregate_ms), drain_encode: perEventUs(stages.drain_encode_ms) } : {}),
            // Everything else on the thread: kafkajs (fetch, record batch decode), offsets, GC.
            kafkajs_and_rest: round((1e6 * seconds) / input.events - Object.values(stages).reduce((a, b) => a + b, 0) * (1000 / input.events), 2),
          },
    encoded_bytes_per_event: input.mode === 'aggregate' ? round(encodedBytes / input.events, 1) : undefined,
    rss: memory,
  };
}

interface MetricJson {
  name: string;
  values: { value: number; metricName?: string }[];
}

const histogram = (metrics: MetricJson[], name: string) => {
  const metric = metrics.find((m) => m.name === name);
  const pick = (suffix: string) => metric?.values.find((v) => v.metricName === `${name}${suffix}`)?.value ?? 0;
  return { sum: pick('_sum'), count: pick('_count') };
};

/**
 * One worker in this process: startWorker (evaluate off, start_from earliest, the default topology but
 * for names and `labels.enabled`), timed from joining the group (Worker.ready) until the partitions'
 * watermarks in Redis cover all N events, then until the group's committed offsets reach the end.
 * `profileSeconds` > 0: a CPU profile of the first seconds after joining instead (the run stops then).
 */
export async function runIngestWorker(input: IngestTopic & { labels: boolean; group: string; profileSeconds?: number; stateMode?: StateMode; planningThread?: boolean }) {
  const profiling = (input.profileSeconds ?? 0) > 0;
  const mode = input.stateMode ?? 'single';
  const topology = benchTopology(
    input.names,
    { labels: { enabled: input.labels } },
    { group_id: input.group, predictions: { topics: [input.topic] }, labels: { topics: [`${input.names.stem}-labels`] }, start_from: 'earliest', planning_thread: input.planningThread ?? true },
    mode,
  );
  const state = openTopologyState(topology);
  const redis = rawRedis(mode);
  const admin = benchKafka(`${input.group}-admin`).admin();
  await admin.connect();
  const scriptsBefore = await scriptStats(redis);
  const registry = createRegistry(false);
  const rss = new RssSampler();
  const started = performance.now();
  const worker = await startWorker({ topology, logger: createLogger('bench-worker', 'warn'), registry, workerId: `${input.group}-w`, evaluate: false });
  let ready = 0;
  let firstWrite = 0;
  let at10 = 0;
  let at90 = 0;
  let written = 0;
  const profiler = new Profiler();
  let profiled: Awaited<ReturnType<Profiler['stop']>>;
  let profiledFor = 0;
  let profiledEvents = 0;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    if (ready === 0 && worker.ready()) {
      ready = performance.now();
      if (profiling) await profiler.start();
    }
    const marks = await Promise.all(Array.from({ length: INGEST_PARTITIONS }, (_, partition) => state.batches.watermark(input.topic, partition)));
    written = marks.reduce((sum, mark) => sum + mark + 1, 0);
    const now = performance.now();
    if (written > 0 && firstWrite === 0) firstWrite = now;
    if (written >= 0.1 * input.events && at10 === 0) at10 = now;
    if (written >= 0.9 * input.events && at90 === 0) at90 = now;
    if (profiling && ready > 0 && profiled === undefined && now - ready > input.profileSeconds! * 1000) {
      profiledFor = (now - ready) / 1000;
      profiledEvents = written;
      profiled = await profiler.stop(25);
    }
    if (written >= input.events) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const stateDone = performance.now();
  // A profiled run still consumes to the end (the worker is stopped only when it has nothing in flight).
  const profile = profiling ? (profiled ?? (await profiler.stop(25))) : undefined;
  if (profiledFor === 0) {
    profiledFor = (stateDone - ready) / 1000;
    profiledEvents = written;
  }
  if (written < input.events) throw new Error(`worker wrote ${written} of ${input.events} events in 10 minutes`);

  let committedDone = 0;
  {
    while (Date.now() < deadline) {
      const [offsets] = await admin.fetchOffsets({ groupId: input.group, topics: [input.topic] });
      const committed = (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      if (committed >= input.events) {
        committedDone = performance.now();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  const memory = rss.stop();
  const scriptsAfter = await scriptStats(redis);
  await worker.stop();
  const metrics = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
  const flush = histogram(metrics, 'driftwatch_flush_duration_seconds');
  const batch = histogram(metrics, 'driftwatch_batch_messages');

  // Exactness: every event counted once; nothing dead-lettered.
  let counted = 0;
  for (const model of await state.windows.models()) counted += (await state.windows.totals(model.key)).count;
  const deadLetters = (await state.windows.counters()).dlq;

  // Join records: all join hashes (by SCAN on every master), their fields and MEMORY USAGE (every field sampled).
  let joinRecordBytes: number | undefined;
  let joinRecords: number | undefined;
  if (input.labels) {
    let bytes = 0;
    joinRecords = 0;
    for (const key of await scanKeys(redis, `{${topology.state.key_prefix}|j|*`)) {
      joinRecords += await redis.hlen(key);
      bytes += Number(await redis.memory('USAGE', key, 'SAMPLES', 0));
    }
    joinRecordBytes = joinRecords > 0 ? round(bytes / joinRecords, 1) : undefined;
  }
  await state.admin.purge();
  await state.close();
  await admin.deleteGroups([input.group]).catch(() => undefined);
  await admin.disconnect();
  redis.disconnect();

  const measured = (stateDone - ready) / 1000;
  return {
    state_mode: mode,
    planning_thread: input.planningThread ?? true,
    labels: input.labels,
    events: input.events,
    written,
    profile,
    ...(profiling
      ? { profiled_seconds: round(profiledFor, 1), events_per_s_while_profiled: Math.round(profiledEvents / profiledFor), events_per_s: Math.round(input.events / measured) }
      : {
          counted_in_redis: counted,
          dead_letters: deadLetters,
          exact: counted === input.events && Object.keys(deadLetters).length === 0,
          join_seconds: round((ready - started) / 1000, 2),
          seconds_to_state: round(measured, 2),
          seconds_to_committed: round((committedDone - ready) / 1000, 2),
          events_per_s: Math.round(input.events / measured),
          events_per_s_to_committed: Math.round(input.events / ((committedDone - ready) / 1000)),
          events_per_s_from_start: Math.round(input.events / ((stateDone - started) / 1000)),
          events_per_s_10_to_90: at90 > at10 ? Math.round((0.8 * input.events) / ((at90 - at10) / 1000)) : undefined,
          first_write_after_join_seconds: round((firstWrite - ready) / 1000, 2),
          batches: batch.count,
          mean_batch_messages: batch.count > 0 ? Math.round(batch.sum / batch.count) : undefined,
          flush_seconds_total: round(flush.sum, 2),
          flush_ms_mean: flush.count > 0 ? round((1000 * flush.sum) / flush.count, 2) : undefined,
          flush_share_of_wall: round(flush.sum / measured, 3),
          redis_script_calls: scriptsAfter.calls - scriptsBefore.calls,
          redis_script_seconds: round((scriptsAfter.usec - scriptsBefore.usec) / 1e6, 2),
          redis_script_us_per_event: round((scriptsAfter.usec - scriptsBefore.usec) / input.events, 2),
          // All of Redis' CPU (every master), not only the scripts: what bounds the fleet.
          redis_cpu_seconds: round(scriptsAfter.cpuSeconds - scriptsBefore.cpuSeconds, 2),
          redis_cpu_us_per_event: round((1e6 * (scriptsAfter.cpuSeconds - scriptsBefore.cpuSeconds)) / input.events, 2),
          join_records: joinRecords,
          join_record_bytes: joinRecordBytes,
        }),
    rss: memory,
  };
}
