import type { Consumer, Kafka } from 'kafkajs';
import { Aggregator } from '../../src/aggregate/index.ts';
import type { AlertEvent } from '../../src/evaluate/alert-event.ts';
import { TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import { decodeAlertEvent } from '../../src/sinks/alerts.ts';
import { EvaluationStore } from '../../src/state/evaluation-store.ts';
import { modelKey, type RedisStateStore } from '../../src/state/index.ts';
import { uniqueName } from './stack.ts';

/** Collects every alert event on a topic, from its beginning, until stopped. */
export async function collectAlerts(kafka: Kafka, topic: string): Promise<{ events: AlertEvent[]; stop: () => Promise<void> }> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('alerts-reader') });
  const events: AlertEvent[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value) events.push(decodeAlertEvent(message.value));
    },
  });
  return { events, stop: () => consumer.disconnect() };
}

/** Loads a baseline for every model of a traffic spec, from its stationary distribution. */
export async function loadGeneratedBaselines(store: RedisStateStore, spec: TrafficSpec, eventsPerModel: number): Promise<void> {
  const generator = new TrafficGenerator({ ...spec, drift: [], seed: spec.seed + 1000 });
  const aggregator = new Aggregator({ bucketMs: Number.MAX_SAFE_INTEGER, maxModels: 1000, maxFeaturesPerModel: 1000, maxCategories: 100 });
  for (let i = 0; i < eventsPerModel * spec.models; i++) aggregator.record(generator.next(0, 0));
  const evaluations = new EvaluationStore(store.redis, store.keys);
  for (const delta of aggregator.drain().deltas) {
    await evaluations.saveBaseline(modelKey(delta.predictor, delta.model), delta.summary, { predictor: delta.predictor, model: delta.model });
  }
}
