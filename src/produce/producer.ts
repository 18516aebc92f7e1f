import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners, type Producer } from 'kafkajs';
import type { Topology } from '../config/topology.ts';
import type { PredictionEvent } from '../events.ts';
import { kafkaClient } from '../sources/kafka/client.ts';
import { registryClient, registryConnection } from '../sources/registry-client.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { encodeAvro, encodeJson, predictionType } from './encode.ts';
import { encodeLabelAvro, encodeLabelJson, LabelGenerator, labelType, type LabelSpec } from './labels.ts';
import { TrafficGenerator, type TrafficSpec } from './traffic.ts';

export type Encoding = 'avro' | 'json' | 'mixed';

export interface ProduceOptions {
  brokers: string[];
  registryUrl: string;
  /** TLS, SASL and registry credentials, as the topology's sources give them (default: none). */
  security?: Pick<Topology['sources'], 'tls' | 'sasl' | 'registry'>;
  topic: string;
  spec: TrafficSpec;
  encoding: Encoding;
  /** Events per second; 0 sends as fast as Kafka takes them. */
  rate: number;
  /** Stop after this many events or this long, whichever comes first. */
  count?: number;
  durationMs?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { sent: number; elapsedMs: number }) => void;
  /** Sees every event produced (tests and benchmarks keep the truth this way). */
  onEvent?: (event: PredictionEvent) => void;
  /** Event times this far in the past (within the workers' allowed lateness): fills a rolling reference at once. */
  backdateMs?: number;
  /** Also send each prediction's label to this topic once its delay has passed. */
  labels?: { topic: string; spec: LabelSpec };
  /** Where the Kafka client's warnings and errors go; without one they are not printed (a failure still throws). */
  logger?: Logger;
}

/** Sends in slices of 100 ms so that a rate holds smoothly and drift steps start on time. */
const SLICE_MS = 100;
const SEND_CHUNK = 1000;

export async function produceTraffic(options: ProduceOptions): Promise<{ sent: number; elapsedMs: number }> {
  const { security } = options;
  // Without a logger of the caller's, kafkajs prints nothing; failures still throw.
  const kafka = kafkaClient(
    { brokers: options.brokers, ...(security?.tls === undefined ? {} : { tls: security.tls }), ...(security?.sasl === undefined ? {} : { sasl: security.sasl }) },
    options.logger ?? createLogger('driftwatch-produce', 'silent'),
    'driftwatch-produce',
  );
  const registry = registryClient(registryConnection({ registry_url: options.registryUrl, registry: security?.registry ?? {} }));
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const type = predictionType();
    const schemaId = options.encoding === 'json' ? 0 : await registry.getLatestSchemaId(`${options.topic}-value`).catch(async () =>
      // Topics other than "predictions" may not have a subject of their own yet: use the default's.
      registry.getLatestSchemaId('predictions-value'),
    );
    const generator = new TrafficGenerator(options.spec);
    const labels = options.labels ? new LabelGenerator(options.labels.spec) : undefined;
    const labelAvro = labelType();
    const labelSchemaId = labels && options.encoding !== 'json' ? await registry.getLatestSchemaId('labels-value') : 0;
    // Labels wait here until their observed_at (sent_at + delay) has come.
    let waiting: { due: number; value: Buffer; key: string }[] = [];
    const started = Date.now();
    const limit = options.count ?? Number.POSITIVE_INFINITY;
    const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
    let sent = 0;
    while (sent < limit && Date.now() < deadline && !options.signal?.aborted) {
      const sliceStart = Date.now();
      const elapsed = sliceStart - started;
      const due = options.rate > 0 ? Math.min(limit, Math.floor(((elapsed + SLICE_MS) * options.rate) / 1000)) - sent : Math.min(limit - sent, 5000);
      if (due > 0) {
        const messages = [];
        for (let i = 0; i < due; i++) {
          const event = generator.next(Date.now() - (options.backdateMs ?? 0), elapsed);
          options.onEvent?.(event);
          if (labels) {
            let accuracy = options.labels!.spec.accuracy;
            for (const step of options.spec.drift) {
              if (step.kind === 'label-accuracy' && elapsed >= step.fromMs && (step.toMs === undefined || elapsed < step.toMs)) accuracy = step.accuracy;
            }
            const label = labels.label(event, accuracy);
            if (label) {
              const value = options.encoding === 'json' ? encodeLabelJson(label) : encodeLabelAvro(labelAvro, labelSchemaId, label);
              waiting.push({ due: label.observed_at, value, key: label.prediction_id });
            }
          }
          const avro = options.encoding === 'avro' || (options.encoding === 'mixed' && (sent + i) % 2 === 0);
          messages.push({ key: event.prediction_id, value: avro ? encodeAvro(type, schemaId, event) : encodeJson(event) });
        }
        // Requests well under the broker's default 1 MiB limit, sent together.
        const requests = [];
        for (let i = 0; i < messages.length; i += SEND_CHUNK) requests.push(producer.send({ topic: options.topic, messages: messages.slice(i, i + SEND_CHUNK) }));
        await Promise.all(requests);
        sent += due;
        options.onProgress?.({ sent, elapsedMs: Date.now() - started });
      }
      if (options.labels && waiting.length > 0) {
        const now = Date.now();
        const ready = waiting.filter((label) => label.due <= now);
        waiting = waiting.filter((label) => label.due > now);
        for (let i = 0; i < ready.length; i += SEND_CHUNK) {
          await producer.send({ topic: options.labels.topic, messages: ready.slice(i, i + SEND_CHUNK).map(({ key, value }) => ({ key, value })) });
        }
      }
      if (options.rate > 0) await sleep(Math.max(0, SLICE_MS - (Date.now() - sliceStart)));
    }
    // The last predictions' labels are still due: send them when their delay has passed.
    if (options.labels && waiting.length > 0 && !options.signal?.aborted) {
      const last = Math.max(...waiting.map((label) => label.due));
      await sleep(Math.max(0, last - Date.now()), undefined, options.signal ? { signal: options.signal } : undefined).catch(() => undefined);
      for (let i = 0; i < waiting.length; i += SEND_CHUNK) {
        await producer.send({ topic: options.labels.topic, messages: waiting.slice(i, i + SEND_CHUNK).map(({ key, value }) => ({ key, value })) });
      }
    }
    return { sent, elapsedMs: Date.now() - started };
  } finally {
    await producer.disconnect();
  }
}
