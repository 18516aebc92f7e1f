import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { Partitioners, type Producer } from 'kafkajs';
import type { Topology } from '../config/topology.ts';
import { DriftwatchError, errorMessage } from '../errors.ts';
import type { LabelEvent, PredictionEvent } from '../events.ts';
import { registerSchema } from '../sinks/register-schema.ts';
import { kafkaClient } from '../sources/kafka/client.ts';
import { registryConnection, type RegistryConnection } from '../sources/registry-client.ts';
import { createLogger, type Logger } from '../telemetry/logger.ts';
import { encodeAvro, encodeJson, PREDICTION_SCHEMA_FILE, predictionType } from './encode.ts';
import { encodeLabelAvro, encodeLabelJson, LABEL_SCHEMA_FILE, LabelGenerator, labelType, type LabelSpec } from './labels.ts';
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
  /** Requests per second (a request is one event, plus one per shadow); 0 sends as fast as Kafka takes them. */
  rate: number;
  /** Stop after this many requests or this long, whichever comes first. */
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

/**
 * The id of the schema this producer writes with, registered under the topic's subject (TopicNameStrategy)
 * if it is not there yet, as Confluent producers do by default. Never "the latest version": a producer
 * must name the schema its bytes follow, or a newer version in the registry makes them undecodable.
 */
async function schemaIdOf(registry: RegistryConnection, subject: string, file: URL): Promise<number> {
  try {
    return await registerSchema(registry, subject, readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DriftwatchError('DW_ERR_REGISTRY', `registering ${file.pathname.split('/').pop()} as ${subject}: ${errorMessage(error)}`, { cause: error });
  }
}

export async function produceTraffic(options: ProduceOptions): Promise<{ sent: number; elapsedMs: number }> {
  const { security } = options;
  // Without a logger of the caller's, kafkajs prints nothing; failures still throw.
  const kafka = kafkaClient(
    { brokers: options.brokers, ...(security?.tls === undefined ? {} : { tls: security.tls }), ...(security?.sasl === undefined ? {} : { sasl: security.sasl }) },
    options.logger ?? createLogger('driftwatch-produce', 'silent'),
    'driftwatch-produce',
  );
  const registry = registryConnection({ registry_url: options.registryUrl, registry: security?.registry ?? {} });
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const type = predictionType();
    const schemaId = options.encoding === 'json' ? 0 : await schemaIdOf(registry, `${options.topic}-value`, PREDICTION_SCHEMA_FILE);
    const generator = new TrafficGenerator(options.spec);
    const labels = options.labels ? new LabelGenerator(options.labels.spec) : undefined;
    const labelAvro = labelType();
    const labelSchemaId = labels && options.encoding !== 'json' ? await schemaIdOf(registry, `${options.labels!.topic}-value`, LABEL_SCHEMA_FILE) : 0;
    const canaryAccuracy = new Map((options.spec.deployments ?? []).flatMap((d) => (d.accuracy !== undefined ? [[d.model, d.accuracy] as const] : [])));
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
        const wait = (label: LabelEvent) => {
          const value = options.encoding === 'json' ? encodeLabelJson(label) : encodeLabelAvro(labelAvro, labelSchemaId, label);
          waiting.push({ due: label.observed_at, value, key: label.prediction_id });
        };
        for (let i = 0; i < due; i++) {
          const [event, ...shadows] = generator.nextRequest(Date.now() - (options.backdateMs ?? 0), elapsed);
          if (labels && event) {
            let accuracy = canaryAccuracy.get(event.model_id) ?? options.labels!.spec.accuracy;
            for (const step of options.spec.drift) {
              if (step.kind === 'label-accuracy' && elapsed >= step.fromMs && (step.toMs === undefined || elapsed < step.toMs)) accuracy = step.accuracy;
            }
            const label = labels.label(event, accuracy);
            if (label) {
              wait(label);
              // The request's truth, for each shadow's prediction too.
              for (const shadow of shadows) if (shadow.prediction !== null) wait({ ...label, prediction_id: shadow.prediction_id });
            }
          }
          const avro = options.encoding === 'avro' || (options.encoding === 'mixed' && (sent + i) % 2 === 0);
          for (const answered of event ? [event, ...shadows] : []) {
            options.onEvent?.(answered);
            messages.push({ key: answered.prediction_id, value: avro ? encodeAvro(type, schemaId, answered) : encodeJson(answered) });
          }
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
