import { hostname } from 'node:os';
import { Partitioners, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { aggregationBucket, type Topology, type TopicSelection } from './config/topology.ts';
import { DEFAULT_LIMITS } from './decode/index.ts';
import { errorMessage } from './errors.ts';
import { retry } from './retry.ts';
import { restoreAlertStates } from './runtime/alert-history.ts';
import { ComparisonRunner } from './runtime/comparison-runner.ts';
import { EvaluationLoop, type EvaluationLoopDeps } from './runtime/evaluation-loop.ts';
import { openTopologyState, type SummaryState } from './runtime/state.ts';
import { AlertSink } from './sinks/alerts.ts';
import { DeadLetterSink } from './sinks/dead-letter.ts';
import { VerdictSink } from './sinks/verdicts.ts';
import { BatchRunner, type PartitionBatch } from './sources/kafka/batch-runner.ts';
import { kafkaClient } from './sources/kafka/client.ts';
import { IngestHealth } from './sources/kafka/ingest-health.ts';
import { LabelSource } from './sources/kafka/label-source.ts';
import { LagMonitor } from './sources/kafka/lag-monitor.ts';
import { PredictionSource } from './sources/kafka/prediction-source.ts';
import { StateRecovery } from './sources/kafka/state-recovery.ts';
import { registryConnection } from './sources/registry-client.ts';
import { SchemaRegistryCache } from './sources/schema-registry.ts';
import type { Logger } from './telemetry/logger.ts';
import { createComparisonMetrics, createEvaluationMetrics, createIngestMetrics, type IngestMetrics } from './telemetry/metrics.ts';

/**
 * The one place that wires source → decode → aggregate → state → evaluate → sinks for a worker:
 * `buildWorker` makes the parts (no I/O beyond opening the Redis connection), `runWorker` connects
 * them and starts consuming and evaluating. Tests and benchmarks build the same parts and drive them.
 * Everything stateful that matters lives in Redis; a worker can be killed at any point and another
 * picks up from the last committed offset without losing or double counting anything.
 */
export interface WorkerOptions {
  topology: Topology;
  logger: Logger;
  registry: Registry;
  workerId?: string;
  clock?: () => number;
  /** Run the evaluation loop (default on). Off for ingest-only benchmarks. */
  evaluate?: boolean;
  /** Sees each model's result as it is evaluated (benchmarks read them; the loop keeps none). */
  onEvaluated?: EvaluationLoopDeps['onEvaluated'];
}

export interface WorkerParts {
  id: string;
  topology: Topology;
  logger: Logger;
  state: SummaryState;
  kafka: Kafka;
  /** Dead letters and alert events. */
  producer: Producer;
  consumer: Consumer;
  /** Committed offsets and log ends (lag, state recovery). */
  admin: Admin;
  metrics: IngestMetrics;
  runner: BatchRunner;
  /** Batches failing and retried now (the worker is not ready meanwhile). */
  ingestHealth: IngestHealth;
  recovery: StateRecovery;
  lag: LagMonitor;
  predictions: PredictionSource;
  /** Absent when labels are off. */
  labels: LabelSource | undefined;
  /** Absent when evaluation is off. */
  evaluation: EvaluationLoop | undefined;
}

export interface Worker {
  readonly id: string;
  ready(): boolean;
  stop(): Promise<void>;
}

export function buildWorker(options: WorkerOptions): WorkerParts {
  const { topology, logger } = options;
  const id = options.workerId ?? `${hostname()}-${process.pid}`;
  const clock = options.clock ?? Date.now;
  const kafka = kafkaClient(topology.sources, logger, `${topology.sources.client_id}-${id}`);
  const state = openTopologyState(topology, { onCompactionError: (key, error) => logger.warn({ key, err: errorMessage(error) }, 'bucket compaction failed; will retry later') });
  const metrics = createIngestMetrics(options.registry);
  // Dead letters and alert events are never given up on: an idempotent producer retrying without end
  // (with a log line per failure) rather than a batch committed without its dead letters.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 10_000 },
  });
  const consumer = kafka.consumer({
    groupId: topology.sources.group_id,
    sessionTimeout: topology.sources.session_timeout,
    heartbeatInterval: Math.max(500, Math.floor(topology.sources.session_timeout / 10)),
    rebalanceTimeout: Math.max(topology.sources.session_timeout, 30_000),
    // kafkajs gives up on a consumer after a non-retriable error; a monitor must not go quiet: restart
    // it (the failed batch is redelivered, and the watermark keeps it from counting twice).
    retry: {
      retries: 12,
      initialRetryTime: 200,
      maxRetryTime: 10_000,
      restartOnFailure: async (error) => {
        logger.error({ err: errorMessage(error) }, 'consumer failed; restarting it');
        return true;
      },
    },
  });
  const schemaRegistry = registryConnection(topology.sources);
  const limits = {
    ...DEFAULT_LIMITS,
    allowedLatenessMs: topology.windows.allowed_lateness,
    maxFutureMs: topology.windows.max_future,
    maxFeatures: topology.sources.max_features_per_event,
    maxMessageBytes: topology.sources.max_message_bytes,
  };
  const labelsOn = topology.labels.enabled;
  const admin = kafka.admin();
  const { fine, coarse } = topology.state.retention;
  // One cache for both sources and the planning thread (which is sent the definitions it needs).
  const schemas = new SchemaRegistryCache(schemaRegistry, { onEvict: () => metrics.overflow.inc({ kind: 'schema_ids' }) });
  // Labels are consumed by the same group and consumer as predictions: one worker process, one offset
  // discipline, and a label's batch routed by its topic.
  const labels = labelsOn
    ? new LabelSource({
        state,
        schemas,
        metrics,
        limits,
        join: {
          sampleRate: topology.labels.sample_rate,
          ttlMs: topology.state.label_join_ttl,
          waitMs: topology.labels.wait_for_prediction,
          maxClasses: topology.labels.max_classes,
          bucketMs: topology.state.retention.fine.bucket,
        },
      })
    : undefined;
  const recovery = new StateRecovery({
    admin,
    consumer,
    groupId: topology.sources.group_id,
    metrics,
    logger,
    clock,
    retainedMs: Math.max(fine.keep + fine.bucket, coarse.keep + coarse.bucket),
    onRegression: async (topic, partition) => {
      // The registries this worker remembered writing may be gone with the rest.
      state.batches.forgetAll();
      predictions.forgetModels();
      if (labels && topicSelected(topology.sources.labels, topic)) {
        await state.batches.rebaseJournal(topic, partition);
        labels.forget(topic, partition);
      }
    },
  });
  const ingestHealth = new IngestHealth(logger, metrics, clock);
  const runner = new BatchRunner({
    schemas,
    deadLetters: new DeadLetterSink(producer, topology.sinks.dlq_topic, id, {
      onLimit: (bytes) => logger.warn({ topic: topology.sinks.dlq_topic, bytes }, 'the dead-letter topic refused a request as too large; sending smaller requests (a single dead letter over the limit is truncated, with dw.truncated)'),
    }),
    metrics,
    logger,
    clock,
    readWatermark: (topic, partition) => state.batches.watermark(topic, partition),
    health: ingestHealth,
    recovery,
  });
  const predictions = new PredictionSource({
    batches: state.batches,
    schemas,
    metrics,
    logger,
    limits,
    thread: topology.sources.planning_thread,
    joinSampleRate: labelsOn ? topology.labels.sample_rate : undefined,
    joinTtlMs: topology.state.label_join_ttl,
    // Shadows are paired with their primaries by request_id only when comparisons are on.
    ...(topology.comparisons.enabled ? { pairs: state.pairs } : {}),
    pairBucketMs: fine.bucket,
    aggregation: {
      // Deltas per recent bucket when those are kept (each lies in one fine bucket), else per fine bucket.
      bucketMs: aggregationBucket(topology),
      maxModels: topology.state.caps.models,
      maxFeaturesPerModel: topology.state.caps.features_per_model,
      maxCategories: topology.state.caps.categories_per_feature,
    },
  });
  const evaluation =
    options.evaluate === false
      ? undefined
      : new EvaluationLoop({
          topology,
          workerId: id,
          state,
          alerts: new AlertSink(producer, topology.sinks.alerts_topic, schemaRegistry),
          metrics: createEvaluationMetrics(options.registry, topology.sinks.metrics.feature_series_cap),
          logger,
          clock,
          ...(options.onEvaluated ? { onEvaluated: options.onEvaluated } : {}),
          ...(topology.comparisons.enabled
            ? {
                comparisons: new ComparisonRunner({
                  topology,
                  workerId: id,
                  state,
                  verdicts: new VerdictSink(producer, topology.sinks.verdicts_topic, schemaRegistry),
                  metrics: createComparisonMetrics(options.registry),
                  logger,
                }),
              }
            : {}),
        });
  const lag = new LagMonitor(admin, topology.sources.group_id, metrics, logger);
  return { id, topology, logger, state, kafka, producer, consumer, admin, metrics, runner, ingestHealth, recovery, lag, predictions, labels, evaluation };
}

/** Connects a built worker's parts, joins the consumer group, and starts evaluating and retrying waiting labels. */
export async function runWorker(parts: WorkerParts): Promise<Worker> {
  const { id, topology, logger, state, kafka, producer, consumer, admin, metrics, runner, ingestHealth, recovery, lag, predictions, labels, evaluation } = parts;
  const clock = Date.now;
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    joined = true;
    runner.forgetPartitions();
    state.batches.forgetPartitions();
    const assignment = event.payload.memberAssignment;
    const owned = Object.entries(assignment).flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition })));
    recovery.assign(owned);
    lag.assign(owned);
    labels?.assign(owned.filter(({ topic }) => topicSelected(topology.sources.labels, topic)));
    logger.info({ assignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
    if (event.payload.batchSize === 0) runner.coveredWithoutMessages(event.payload.topic, event.payload.partition, Number(event.payload.lastOffset));
  });
  consumer.on(consumer.events.CRASH, (event) => {
    joined = false;
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
  });

  // Redis going away is waited out (commands queue until it is back), with one line per state change.
  // When it is back it may have lost writes (restarted from its append-only file, or empty): batches
  // find that themselves (a compare-and-set on each partition's watermark), and alert states are put
  // back in line with the alerts topic before the next evaluation.
  let generation: string | undefined;
  let restoring: Promise<void> | undefined;
  const restore = () => {
    const done = (async () => {
      const current = await state.health.generation();
      if (generation !== undefined && current.id !== generation) {
        metrics.stateRegressions.inc({ kind: 'generation' });
        logger.warn({ redis: state.health.address }, 'the Redis dataset was lost or replaced; the state is rebuilt from Kafka as partitions find it behind');
        state.batches.forgetAll();
        predictions.forgetModels();
      }
      generation = current.id;
      if (evaluation) await restoreAlertStates(kafka, topology.sinks.alerts_topic, state, logger, clock());
    })()
      .catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'checking the state after Redis came back failed; evaluating as it is'))
      .finally(() => {
        if (restoring === done) restoring = undefined;
      });
    restoring = done;
    evaluation?.holdUntil(done);
  };
  state.health.onChange((up, error) => {
    if (up) {
      logger.info({ redis: state.health.address }, 'Redis is back');
      restore();
    } else logger.warn({ code: 'DW_ERR_STATE', err: error?.message, redis: state.health.address }, 'Redis unreachable; state writes wait and retry');
  });
  const patiently = <T>(what: string, operation: () => Promise<T>) =>
    retry(operation, {
      attempts: 30,
      maxDelayMs: 5000,
      onRetry: (error, attempt) => logger.warn({ attempt, err: errorMessage(error) }, `${what} failed; retrying`),
    });
  try {
    await patiently('connecting to Redis', () => state.health.ping());
    // Refused at once (exit 2): under an evicting policy no count could be trusted.
    await state.health.checkEvictionPolicy();
    generation = (await patiently('reading the state generation', () => state.health.generation())).id;
    await patiently('connecting the producer to Kafka', () => producer.connect());
    await patiently('connecting the consumer to Kafka', () => consumer.connect());
    await patiently('connecting the admin client to Kafka', () => admin.connect());
    // A topic that does not exist yet is waited for, not a reason to die.
    const topics = [...subscription(topology.sources.predictions), ...(labels ? subscription(topology.sources.labels) : [])];
    await patiently(`subscribing to ${JSON.stringify(topics.map(String))}`, () =>
      consumer.subscribe({ topics, fromBeginning: topology.sources.start_from === 'earliest' }),
    );
    const heartbeatInterval = Math.max(500, Math.floor(topology.sources.session_timeout / 10));
    await consumer.run({
      autoCommit: true,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 2,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        // A batch can wait long (Redis paused or full, the registry down): the group keeps hearing from
        // this worker meanwhile, and the batch is given up as soon as the partition moves.
        let moved = false;
        const beat = setInterval(() => {
          heartbeat().catch((error: unknown) => {
            const type = (error as { type?: string }).type;
            if (type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID' || type === 'NOT_COORDINATOR_FOR_GROUP') moved = true;
          });
        }, heartbeatInterval);
        const partitionBatch: PartitionBatch = {
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages,
          highWatermark: batch.highWatermark,
          lastOffset: batch.lastOffset(),
          ...fetchedOffsetOf(batch),
        };
        const alive = { alive: () => isRunning() && !isStale() && !moved };
        try {
          const outcome =
            labels && topicSelected(topology.sources.labels, batch.topic) ? await runner.process(labels, partitionBatch, alive) : await runner.process(predictions, partitionBatch, alive);
          if (outcome.lastOffset !== undefined) {
            // State (and dead letters) are durable now: only now may Kafka forget these messages.
            resolveOffset(outcome.lastOffset);
            await commitOffsetsIfNecessary();
          }
        } finally {
          clearInterval(beat);
        }
        await heartbeat();
      },
    });
  } catch (error) {
    // Nothing may keep the process alive after a refused start (exit 2 for an evicting Redis).
    await Promise.allSettled([consumer.disconnect(), producer.disconnect(), admin.disconnect()]);
    await state.close();
    throw error;
  }
  lag.start();
  evaluation?.start();
  // Labels that came before their predictions are retried on a timer by the owner of their partition.
  let retrying: Promise<unknown> | undefined;
  const retryTimer = labels
    ? setInterval(() => {
        if (retrying) return;
        retrying = labels
          .retryPending(clock())
          .catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'retrying waiting labels failed; next round'))
          .finally(() => (retrying = undefined));
      }, topology.labels.retry_interval)
    : undefined;
  retryTimer?.unref();
  logger.info({ worker: id, topics: topology.sources.predictions, group: topology.sources.group_id, redis: state.health.address }, 'worker started');

  return {
    id,
    // Consuming, writing state, and the state in line with Kafka.
    ready: () => joined && state.health.ready() && recovery.ready() && restoring === undefined && !ingestHealth.stalledNow && lag.brokerReachable(),
    async stop() {
      clearInterval(retryTimer);
      await retrying;
      await evaluation?.stop();
      // disconnect() lets the batch in flight finish, commits its offsets and leaves the group.
      await consumer.disconnect();
      lag.stop();
      await admin.disconnect();
      await predictions.close();
      await producer.disconnect();
      await state.close();
      logger.info({ worker: id }, 'worker stopped');
    },
  };
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  return runWorker(buildWorker(options));
}

/** The offset a kafkajs batch was fetched from (kafkajs keeps it on the batch without typing it). */
function fetchedOffsetOf(batch: object): { fetchedOffset?: string } {
  const fetched = (batch as { fetchedOffset?: unknown }).fetchedOffset;
  return typeof fetched === 'string' || typeof fetched === 'number' ? { fetchedOffset: String(fetched) } : {};
}

function subscription(selection: TopicSelection): (string | RegExp)[] {
  return selection.pattern !== undefined ? [new RegExp(selection.pattern)] : (selection.topics ?? []);
}

/** Whether a topic is one of a selection's (its list, or its pattern). */
export function topicSelected(selection: TopicSelection, topic: string): boolean {
  return selection.pattern !== undefined ? new RegExp(selection.pattern).test(topic) : (selection.topics ?? []).includes(topic);
}
