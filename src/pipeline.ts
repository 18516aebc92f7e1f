import { hostname } from 'node:os';
import { Partitioners, type Consumer, type Kafka, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Topology, TopicSelection } from './config/topology.ts';
import { DEFAULT_LIMITS } from './decode/index.ts';
import { errorMessage } from './errors.ts';
import { retry } from './retry.ts';
import { EvaluationLoop, type EvaluationLoopDeps } from './runtime/evaluation-loop.ts';
import { openTopologyState, type SummaryState } from './runtime/state.ts';
import { AlertSink } from './sinks/alerts.ts';
import { DeadLetterSink } from './sinks/dead-letter.ts';
import { BatchRunner } from './sources/kafka/batch-runner.ts';
import { kafkaClient } from './sources/kafka/client.ts';
import { LabelSource } from './sources/kafka/label-source.ts';
import { PredictionSource } from './sources/kafka/prediction-source.ts';
import { SchemaRegistryCache } from './sources/schema-registry.ts';
import type { Logger } from './telemetry/logger.ts';
import { createEvaluationMetrics, createIngestMetrics } from './telemetry/metrics.ts';

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
  runner: BatchRunner;
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
  const kafka = kafkaClient(topology, logger, `${topology.sources.client_id}-${id}`);
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
  const limits = {
    ...DEFAULT_LIMITS,
    allowedLatenessMs: topology.windows.allowed_lateness,
    maxFutureMs: topology.windows.max_future,
    maxFeatures: topology.sources.max_features_per_event,
    maxMessageBytes: topology.sources.max_message_bytes,
  };
  const labelsOn = topology.labels.enabled;
  const runner = new BatchRunner({
    schemas: new SchemaRegistryCache(topology.sources.registry_url),
    deadLetters: new DeadLetterSink(producer, topology.sinks.dlq_topic, id),
    metrics,
    logger,
    limits,
    clock,
    readWatermark: (topic, partition) => state.batches.watermark(topic, partition),
  });
  const predictions = new PredictionSource({
    batches: state.batches,
    metrics,
    limits,
    joinSampleRate: labelsOn ? topology.labels.sample_rate : undefined,
    aggregation: {
      bucketMs: topology.state.retention.fine.bucket,
      maxModels: topology.state.caps.models,
      maxFeaturesPerModel: topology.state.caps.features_per_model,
      maxCategories: topology.state.caps.categories_per_feature,
    },
  });
  // Labels are consumed by the same group and consumer as predictions: one worker process, one offset
  // discipline, and a label's batch routed by its topic.
  const labels = labelsOn
    ? new LabelSource({
        state,
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
  const evaluation =
    options.evaluate === false
      ? undefined
      : new EvaluationLoop({
          topology,
          workerId: id,
          state,
          alerts: new AlertSink(producer, topology.sinks.alerts_topic, topology.sources.registry_url),
          metrics: createEvaluationMetrics(options.registry, topology.sinks.metrics.feature_series_cap),
          logger,
          clock,
          ...(options.onEvaluated ? { onEvaluated: options.onEvaluated } : {}),
        });
  return { id, topology, logger, state, kafka, producer, consumer, runner, predictions, labels, evaluation };
}

/** Connects a built worker's parts, joins the consumer group, and starts evaluating and retrying waiting labels. */
export async function runWorker(parts: WorkerParts): Promise<Worker> {
  const { id, topology, logger, state, producer, consumer, runner, predictions, labels, evaluation } = parts;
  const clock = Date.now;
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    joined = true;
    runner.forgetPartitions();
    state.batches.forgetPartitions();
    const assignment = event.payload.memberAssignment;
    labels?.assign(
      Object.entries(assignment)
        .filter(([topic]) => topicSelected(topology.sources.labels, topic))
        .flatMap(([topic, partitions]) => partitions.map((partition) => ({ topic, partition }))),
    );
    logger.info({ assignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, (event) => {
    joined = false;
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
  });

  // Redis going away is waited out (commands queue until it is back), with one line per state change.
  state.health.onChange((up, error) => {
    if (up) logger.info({ redis: state.health.address }, 'Redis is back');
    else logger.warn({ err: error?.message, redis: state.health.address }, 'Redis unreachable; state writes wait and retry');
  });
  const patiently = <T>(what: string, operation: () => Promise<T>) =>
    retry(operation, {
      attempts: 30,
      maxDelayMs: 5000,
      onRetry: (error, attempt) => logger.warn({ attempt, err: errorMessage(error) }, `${what} failed; retrying`),
    });
  await patiently('connecting to Redis', () => state.health.ping());
  await patiently('connecting the producer to Kafka', () => producer.connect());
  await patiently('connecting the consumer to Kafka', () => consumer.connect());
  // A topic that does not exist yet is waited for, not a reason to die.
  const topics = [...subscription(topology.sources.predictions), ...(labels ? subscription(topology.sources.labels) : [])];
  await patiently(`subscribing to ${JSON.stringify(topics.map(String))}`, () =>
    consumer.subscribe({ topics, fromBeginning: topology.sources.start_from === 'earliest' }),
  );
  await consumer.run({
    autoCommit: true,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      if (!isRunning() || isStale()) return;
      const outcome = labels && topicSelected(topology.sources.labels, batch.topic) ? await runner.process(labels, batch) : await runner.process(predictions, batch);
      if (outcome.lastOffset !== undefined) {
        // State (and dead letters) are durable now: only now may Kafka forget these messages.
        resolveOffset(outcome.lastOffset);
        await commitOffsetsIfNecessary();
      }
      await heartbeat();
    },
  });
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
    ready: () => joined && state.health.ready(),
    async stop() {
      clearInterval(retryTimer);
      await retrying;
      await evaluation?.stop();
      // disconnect() lets the batch in flight finish, commits its offsets and leaves the group.
      await consumer.disconnect();
      await producer.disconnect();
      await state.close();
      logger.info({ worker: id }, 'worker stopped');
    },
  };
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  return runWorker(buildWorker(options));
}

function subscription(selection: TopicSelection): (string | RegExp)[] {
  return selection.pattern !== undefined ? [new RegExp(selection.pattern)] : (selection.topics ?? []);
}

/** Whether a topic is one of a selection's (its list, or its pattern). */
export function topicSelected(selection: TopicSelection, topic: string): boolean {
  return selection.pattern !== undefined ? new RegExp(selection.pattern).test(topic) : (selection.topics ?? []).includes(topic);
}
