import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confluentHeader, decodeValue, unresolvedSchemaIds, validatePrediction } from '../../src/decode/index.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { encodeJson, predictionType } from '../../src/produce/encode.ts';
import { parseTopology } from '../../src/config/topology.ts';
import { registryConnection } from '../../src/sources/registry-client.ts';
import { SchemaRegistryCache } from '../../src/sources/schema-registry.ts';
import { createTopics, ENDPOINTS, testKafka, uniqueName, waitFor } from '../kit/index.ts';

const event: PredictionEvent = {
  prediction_id: 'p-42',
  predictor_name: 'eta',
  model_id: 'eta-v12',
  role: 'canary',
  sent_at: Date.now(),
  features: { distance_km: 3.25, city: 'sf', is_peak: true, promo: null },
  prediction: 17.5,
  prediction_scores: null,
  default_values_used: ['promo'],
  latency_ms: 12.5,
  error: null,
};

describe('prediction logs through real Kafka and the registry', () => {
  const topic = uniqueName('wire');
  const kafka = testKafka();
  const admin = kafka.admin();

  beforeAll(async () => {
    await admin.connect();
    await createTopics(admin, [{ topic, numPartitions: 1 }]);
  });
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('an Avro log encoded through the registry and a JSON log come back equal; an unknown schema id is a clear error', async () => {
    const registry = new SchemaRegistry({ host: ENDPOINTS.registryUrl });
    const schemaId = await registry.getLatestSchemaId('predictions-value');
    // Encoded by the registry client, as a producing service would.
    const avro = await registry.encode(schemaId, event);
    const unknown = Buffer.concat([confluentHeader(2_000_000_000), predictionType().toBuffer(event)]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'avro', value: avro }, { key: 'json', value: encodeJson(event) }, { key: 'unknown', value: unknown }] });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('wire-reader') });
    const values = new Map<string, Buffer>();
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.set(message.key!.toString(), message.value!) });
    await waitFor('the three messages', async () => (values.size === 3 ? true : undefined), 30_000);
    await consumer.disconnect();

    const schemas = new SchemaRegistryCache(registryConnection(parseTopology({ sources: { registry_url: ENDPOINTS.registryUrl } }).sources));
    await schemas.resolve(unresolvedSchemaIds(values.values(), schemas));
    const decode = (key: string) => {
      const decoded = decodeValue(values.get(key)!, 1 << 20, schemas);
      return decoded.ok ? validatePrediction(decoded.record, Date.now()) : decoded;
    };
    expect(decode('avro')).toEqual({ ok: true, event });
    expect(decode('json')).toEqual({ ok: true, event });
    expect(decode('unknown')).toEqual({ ok: false, code: 'DW_ERR_SCHEMA_UNKNOWN', reason: 'schema id 2000000000 is not known to the registry' });
  });
});
