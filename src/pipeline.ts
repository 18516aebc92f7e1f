import { hostname } from 'node:os';
import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import { kafkaClient } from './sources/kafka/client.ts';
import type { Registry } from 'prom-client';
import { aggregationBucket, type Topology } from './config/topology.ts';
import { errorMessage } from './errors.ts';
import { retry } from './retry.ts';
import { EvaluationLoop } from './runtime/evaluation-loop.ts';
import { AlertSink } from './sinks/alerts.ts';
import { DeadLetterSink } from './sinks/dead-letter.ts';
import { LabelBatchProcessor, topicSelected } from './sources/kafka/label-batches.ts';
import { PredictionBatchProcessor } from './sources/kafka/prediction-batches.ts';
import { SchemaRegistryCache } from './sources/schema-registry.ts';
import { EvaluationStore } from './state/evaluation-store.ts';
import { RedisStateStore } from './state/index.ts';
import type { Logger } from './telemetry/logger.ts';
import { redactUrl } from './telemetry/redact.ts';
import { createEvaluationMetrics, createIngestMetrics } from './telemetry/metrics.ts';

/**
 * The one place that wires source → decode → aggregate → state → (evaluate) → sinks for a worker.
 * Everything stateful that matters lives in Redis; a worker can be killed at any point and another
 * picks up from the last committed offset without losing or double counting anything.
 */
export interface Worker {
  readonly id: string;
  ready(): boolean;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  topology: Topology;
  logger: Logger;
  registry: Registry;
  workerId?: string;
  clock?: () => number;
  /** Run the evaluation loop too (default). Off for ingest-only benchmarks. */
  evaluate?: boolean;
}

export function storeOptions(topology: Topology) {
  const { retention, caps, key_prefix } = topology.state;
  return {
    prefix: key_prefix,
    recent: retention.recent ? { bucketMs: retention.recent.bucket, keepMs: retention.recent.keep } : undefined,
    fine: { bucketMs: retention.fine.bucket, keepMs: retention.fine.keep },
    coarse: { bucketMs: retention.coarse.bucket, keepMs: retention.coarse.keep },
    maxFeaturesPerModel: caps.features_per_model,
    labelJoin: { ttlMs: topology.state.label_join_ttl, maxFutureMs: topology.windows.max_future },
  };
}

function subscription(selection: Topology['sources']['predictions']): (string | RegExp)[] {
  return selection.pattern !== undefined ? [new RegExp(selection.pattern)] : (selection.topics ?? []);
}

export async function startWorker(options: WorkerOptions): Promise<Worker> {
  const { topology, logger } = options;
  const id = options.workerId ?? `${hostname()}-${process.pid}`;
  const clock = options.clock ?? Date.now;
  const kafka = kafkaClient(topology, logger, `${topology.sources.client_id}-${id}`);
  const store = RedisStateStore.connect(topology.state.redis_url, storeOptions(topology));
  const metrics = createIngestMetrics(options.registry);
  // Dead letters and alert events are never given up on: an idempotent producer retrying without end
  // (with a log line per failure) rather than a batch committed without its dead letters.
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 200, maxRetryTime: 10_000 },
  });
  const consumer: Consumer = kafka.consumer({
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
  const schemas = new SchemaRegistryCache(topology.sources.registry_url);
  const deadLetters = new DeadLetterSink(producer, topology.sinks.dlq_topic, id);
  const limits = {
    allowedLatenessMs: topology.windows.allowed_lateness,
    maxFutureMs: topology.windows.max_future,
    maxFeatures: topology.sources.max_features_per_event,
    maxIdLength: 256,
    maxMessageBytes: topology.sources.max_message_bytes,
  };
  const labelsOn = topology.labels.enabled;
  const shared = { store, schemas, deadLetters, metrics, logger, clock, limits };
  const processor = new PredictionBatchProcessor({
    ...shared,
    ...(labelsOn ? { join: { sampleRate: topology.labels.sample_rate } } : {}),
    aggregation: {
      bucketMs: aggregationBucket(topology),
      maxModels: topology.state.caps.models,
      maxFeaturesPerModel: topology.state.caps.features_per_model,
      maxCategories: topology.state.caps.categories_per_feature,
    },
  });
  // Labels are consumed by the same group and consumer as predictions: one worker process, one offset
  // discipline, and a label's batch routed by its topic.
  const labels = labelsOn
    ? new LabelBatchProcessor({
        ...shared,
        workerId: id,
        join: {
          sampleRate: topology.labels.sample_rate,
          ttlMs: topology.state.label_join_ttl,
          waitMs: topology.labels.wait_for_prediction,
          maxClasses: topology.labels.max_classes,
          bucketMs: topology.state.retention.fine.bucket,
        },
      })
    : undefined;

  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    joined = true;
    processor.forgetPartitions();
    labels?.forgetPartitions();
    logger.info({ assignment: event.payload.memberAssignment }, 'joined consumer group');
  });
  consumer.on(consumer.events.CRASH, (event) => {
    joined = false;
    logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
  });

  // Redis going away is waited out (commands queue until it is back), with one line per state change.
  let redisDown = false;
  store.redis.on('error', (error: Error) => {
    if (!redisDown) logger.warn({ err: error.message, url: redactUrl(topology.state.redis_url) }, 'Redis unreachable; state writes wait and retry');
    redisDown = true;
  });
  store.redis.on('ready', () => {
    if (redisDown) logger.info({ url: redactUrl(topology.state.redis_url) }, 'Redis is back');
    redisDown = false;
  });
  const patiently = <T>(what: string, operation: () => Promise<T>) =>
    retry(operation, {
      attempts: 30,
      maxDelayMs: 5000,
      onRetry: (error, attempt) => logger.warn({ attempt, err: errorMessage(error) }, `${what} failed; retrying`),
    });
  await patiently('connecting to Redis', () => store.redis.ping());
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
      const outcome = labels && topicSelected(topology.sources.labels, batch.topic) ? await labels.process(batch) : await processor.process(batch);
      if (outcome.lastOffset !== undefined) {
        // State (and dead letters) are durable now: only now may Kafka forget these messages.
        resolveOffset(outcome.lastOffset);
        await commitOffsetsIfNecessary();
      }
      await heartbeat();
    },
  });
  const evaluation =
    options.evaluate === false
      ? undefined
      : new EvaluationLoop({
          topology,
          workerId: id,
          store,
          evaluations: new EvaluationStore(store.redis, store.keys),
          alerts: new AlertSink(producer, topology.sinks.alerts_topic, topology.sources.registry_url),
          metrics: createEvaluationMetrics(options.registry, topology.sinks.metrics.feature_series_cap),
          logger,
          clock,
        });
  evaluation?.start();
  // Labels that came before their predictions are retried on a timer, one worker at a time (a lease).
  let retrying: Promise<unknown> | undefined;
  const retryTimer = labels
    ? setInterval(() => {
        if (retrying) return;
        retrying = labels
          .retryPending(Math.max(10_000, 3 * topology.labels.retry_interval))
          .catch((error: unknown) => logger.warn({ err: errorMessage(error) }, 'retrying waiting labels failed; next round'))
          .finally(() => (retrying = undefined));
      }, topology.labels.retry_interval)
    : undefined;
  retryTimer?.unref();
  logger.info({ worker: id, topics: topology.sources.predictions, group: topology.sources.group_id }, 'worker started');

  return {
    id,
    ready: () => joined && store.redis.status === 'ready',
    async stop() {
      clearInterval(retryTimer);
      await retrying;
      await evaluation?.stop();
      // disconnect() lets the batch in flight finish, commits its offsets and leaves the group.
      await consumer.disconnect();
      await producer.disconnect();
      await store.close();
      logger.info({ worker: id }, 'worker stopped');
    },
  };
}
