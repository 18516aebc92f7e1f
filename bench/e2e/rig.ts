/**
 * An evaluation loop as a worker builds it (pipeline.ts `buildWorker`: the topology, the state, an
 * AlertSink on the worker's idempotent producer, the evaluation metrics), driven by tick(now) with a
 * simulated clock. Also an alerts-topic reader, and a timer around ModelReader.input (the Redis reads of a tick).
 */
import type { Consumer } from 'kafkajs';
import type { Topology } from '../../src/config/topology.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import type { EvaluationResult } from '../../src/evaluate/model-evaluation.ts';
import { buildWorker } from '../../src/pipeline.ts';
import type { EvaluationLoop } from '../../src/runtime/evaluation-loop.ts';
import { ModelReader } from '../../src/runtime/model-reader.ts';
import type { SummaryState } from '../../src/runtime/state.ts';
import { decodeAlertEvent } from '../../src/sinks/alerts.ts';
import type { ModelEntry } from '../../src/state/index.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { benchKafka } from './common.ts';

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

export interface Rig {
  state: SummaryState;
  loop: EvaluationLoop;
  /** The latest result of every model the loop evaluated. */
  latest: Map<string, { entry: ModelEntry; result: EvaluationResult }>;
  close(): Promise<void>;
}

/** A worker's evaluation parts (no consumer), its producer connected for alert events. */
export async function evaluationRig(topology: Topology, workerId: string): Promise<Rig> {
  const latest: Rig['latest'] = new Map();
  const parts = buildWorker({
    topology,
    logger: createLogger('bench-evaluation', 'warn'),
    registry: createRegistry(false),
    workerId,
    onEvaluated: (entry, result) => latest.set(entry.key, { entry, result }),
  });
  await parts.producer.connect();
  return {
    state: parts.state,
    loop: parts.evaluation!,
    latest,
    close: async () => {
      await parts.producer.disconnect();
      await parts.state.close();
    },
  };
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
