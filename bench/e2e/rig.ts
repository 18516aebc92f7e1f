/**
 * An evaluation loop as a worker builds it (pipeline.ts): the topology, the Redis stores, an AlertSink on
 * a real idempotent producer and the evaluation metrics, driven by tick(now) with a simulated clock.
 * Also an alerts-topic reader, and a timer around ModelReader.input (the Redis reads of a tick).
 */
import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import type { Topology } from '../../src/config/topology.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import type { EvaluationResult } from '../../src/evaluate/model-evaluation.ts';
import { storeOptions } from '../../src/pipeline.ts';
import { EvaluationLoop } from '../../src/runtime/evaluation-loop.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import { AlertSink, decodeAlertEvent } from '../../src/sinks/alerts.ts';
import { registryConnection } from '../../src/sources/registry-client.ts';
import { EvaluationStore } from '../../src/state/evaluation-store.ts';
import { RedisStateStore, type ModelEntry } from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createEvaluationMetrics, createRegistry } from '../../src/telemetry/metrics.ts';
import { benchKafka, REDIS_URL } from './common.ts';

/** Time spent in ModelReader.input (reading windows, references, features and alert states from Redis, decoding and merging). */
export const readTiming = { ms: 0, calls: 0 };
const originalInput = ModelReader.prototype.input;
ModelReader.prototype.input = async function timedInput(this: ModelReader, ...args: Parameters<ModelReader['input']>) {
  const started = performance.now();
  try {
    return await originalInput.apply(this, args);
  } finally {
    readTiming.ms += performance.now() - started;
    readTiming.calls++;
  }
};

export async function alertProducer(clientId: string): Promise<Producer> {
  const kafka = benchKafka(clientId);
  // As startWorker makes it.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}

export interface Rig {
  store: RedisStateStore;
  evaluations: EvaluationStore;
  loop: EvaluationLoop;
  /** The latest result of every model the loop evaluated. */
  latest: Map<string, { entry: ModelEntry; result: EvaluationResult }>;
  close(): Promise<void>;
}

export function evaluationRig(topology: Topology, producer: Producer, workerId: string): Rig {
  const store = RedisStateStore.connect(REDIS_URL, storeOptions(topology));
  const evaluations = new EvaluationStore(store.redis, store.keys);
  const registry = createRegistry(false);
  const latest: Rig['latest'] = new Map();
  const loop = new EvaluationLoop({
    topology,
    workerId,
    store,
    evaluations,
    alerts: new AlertSink(producer, topology.sinks.alerts_topic, registryConnection(topology.sources)),
    metrics: createEvaluationMetrics(registry, topology.sinks.metrics.feature_series_cap),
    logger: createLogger('bench-evaluation', 'warn'),
    // Only the loop's own timer reads the clock; tick(now) is driven with simulated time.
    clock: Date.now,
    onEvaluated: (entry, result) => latest.set(entry.key, { entry, result }),
  });
  return { store, evaluations, loop, latest, close: () => store.close() };
}

export interface ReceivedAlert {
  event: AlertEvent;
  receivedAt: number;
}

/** Every alert event on a topic from its beginning, with the wall time it arrived. */
export async function readAlerts(topic: string, groupId: string): Promise<{ alerts: ReceivedAlert[]; stop: () => Promise<void> }> {
  const kafka = benchKafka(groupId);
  const consumer: Consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const alerts: ReceivedAlert[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => (joined = true));
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) alerts.push({ event: decodeAlertEvent(message.value), receivedAt: Date.now() });
    },
  });
  for (let waited = 0; !joined && waited < 30_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    alerts,
    stop: async () => {
      await consumer.disconnect();
    },
  };
}

/** Waits until `find` returns something or `timeoutMs` passes. */
export async function waitFor<T>(find: () => T | undefined, timeoutMs: number, everyMs = 20): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
