import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/stack/paths.ts';
import { DEFAULT_ENDPOINTS, STACK_SCHEMAS, STACK_TOPICS, stackStatus, stackUp } from '../../src/stack/index.ts';

describe('local stack', () => {
  it('Kafka answers: a fresh topic takes a message and gives it back', async () => {
    const kafka = new Kafka({ clientId: 'stack-test', brokers: DEFAULT_ENDPOINTS.kafkaBrokers, logLevel: logLevel.NOTHING });
    const topic = `stack-test-${randomUUID()}`;
    const admin = kafka.admin();
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: `stack-test-${randomUUID()}` });
    await admin.connect();
    try {
      expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true })).toBe(true);
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello stack', headers: { h: 'v' } }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = await new Promise<{ key: string; value: string; header: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            clearTimeout(timer);
            resolve({ key: String(message.key), value: String(message.value), header: String(message.headers?.['h']) });
          },
        });
      });
      expect(received).toEqual({ key: 'k', value: 'hello stack', header: 'v' });
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('Kafka has the product topics with their partition counts', async () => {
    const admin = new Kafka({ clientId: 'stack-test', brokers: DEFAULT_ENDPOINTS.kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: STACK_TOPICS.map((spec) => spec.topic) });
      expect(Object.fromEntries(topics.map((topic) => [topic.name, topic.partitions.length]))).toEqual({
        predictions: 6,
        labels: 6,
        'driftwatch.alerts': 3,
        'driftwatch.dlq': 3,
      });
    } finally {
      await admin.disconnect();
    }
  });

  it('Redis answers: SET then GET a random key', async () => {
    const redis = new Redis(DEFAULT_ENDPOINTS.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    const key = `stack-test:${randomUUID()}`;
    try {
      expect(await redis.set(key, 'value', 'EX', 60)).toBe('OK');
      expect(await redis.get(key)).toBe('value');
    } finally {
      await redis.del(key);
      redis.disconnect();
    }
  });

  it('the registry answers the Confluent API: subjects, register, latest id, encode and decode', async () => {
    const subjects = (await (await fetch(`${DEFAULT_ENDPOINTS.registryUrl}/subjects`)).json()) as string[];
    expect(subjects).toEqual(expect.arrayContaining(STACK_SCHEMAS.map((spec) => spec.subject)));
    expect(subjects).toContain('predictions-value');

    const registry = new SchemaRegistry({ host: DEFAULT_ENDPOINTS.registryUrl });
    const schema = readFileSync(join(REPO_ROOT, 'schemas', 'prediction-log.avsc'), 'utf8').trim();
    const latest = await registry.getLatestSchemaId('predictions-value');
    // Registering the same schema again is idempotent: the same id comes back.
    const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject: 'predictions-value' });
    expect(id).toBe(latest);

    const prediction = {
      prediction_id: randomUUID(),
      predictor_name: 'eta',
      model_id: 'eta-v12',
      role: 'canary',
      sent_at: 1_767_225_600_000,
      features: { distance_km: 3.2, city: 'Lisbon', rush_hour: true, missing: null },
      prediction: 12.5,
      prediction_scores: null,
      default_values_used: ['city'],
      latency_ms: 4.5,
      error: null,
    };
    const encoded = await registry.encode(latest, prediction);
    expect(encoded[0]).toBe(0); // Confluent wire format: magic byte, then the schema id
    expect(encoded.readInt32BE(1)).toBe(latest);
    expect(await registry.decode(encoded)).toEqual(prediction);
  });

  it('a second stackUp while everything runs is fast and changes nothing', async () => {
    const before = await stackStatus();
    const began = performance.now();
    const result = await stackUp();
    const elapsed = performance.now() - began;
    expect(elapsed).toBeLessThan(5000);
    expect(result.changed).toBe(false);
    // The plain services first (the secure ones follow when `stack up --secure` has added them).
    expect(result.services.slice(0, 3).map((service) => [service.name, service.installed, service.started, service.health.healthy])).toEqual([
      ['kafka', false, false, true],
      ['redis', false, false, true],
      ['registry', false, false, true],
    ]);
    expect(result.services.every((service) => !service.installed && !service.started && service.health.healthy)).toBe(true);
    expect(result.topics.map((topic) => [topic.topic, topic.action])).toEqual(STACK_TOPICS.map((spec) => [spec.topic, 'exists']));
    expect(result.schemas.map((schema) => [schema.subject, schema.action])).toEqual(STACK_SCHEMAS.map((spec) => [spec.subject, 'exists']));
    expect(result.compatibility).toEqual({ level: 'BACKWARD', action: 'exists' });
    // Same processes as before: nothing was restarted.
    const pids = (services: { name: string; pid: number | null }[]) => Object.fromEntries(services.map((service) => [service.name, service.pid]));
    expect(pids(result.services)).toEqual(pids(before.services));
    expect(result.endpoints).toEqual(DEFAULT_ENDPOINTS);
  });

  it('stackStatus reports every service healthy with its memory', async () => {
    const status = await stackStatus();
    expect(status.healthy).toBe(true);
    for (const service of status.services) {
      expect(service.health.healthy).toBe(true);
      if (service.state === 'ours') {
        expect(service.pid).toBeGreaterThan(0);
        expect(service.memory?.peakRssBytes).toBeGreaterThanOrEqual(service.memory?.rssBytes ?? Infinity);
      }
    }
  });
});
