import { readFileSync } from 'node:fs';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import type { Producer } from 'kafkajs';
import { confluentHeader } from '../decode/index.ts';
import type { AlertEvent } from '../evaluate/alert-event.ts';
import { registryClient, type RegistryConnection } from '../sources/registry-client.ts';

const SCHEMA_TEXT = readFileSync(new URL('../../schemas/alert-event.avsc', import.meta.url), 'utf8');

/**
 * Alert events on Kafka: Confluent Avro (schema registered under the TopicNameStrategy subject), key =
 * incident id so the topic can be compacted to each incident's latest state.
 */
export class AlertSink {
  private readonly type = avro.Type.forSchema(JSON.parse(SCHEMA_TEXT) as avro.Schema);
  private schemaId: number | undefined;

  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
    private readonly registry: RegistryConnection,
  ) {}

  private async id(): Promise<number> {
    if (this.schemaId === undefined) {
      // Registering an identical schema returns its existing id: safe from every worker.
      const { id } = await registryClient(this.registry).register({ type: SchemaType.AVRO, schema: SCHEMA_TEXT }, { subject: `${this.topic}-value` });
      this.schemaId = id;
    }
    return this.schemaId;
  }

  encode(event: AlertEvent, schemaId: number): Buffer {
    return Buffer.concat([confluentHeader(schemaId), this.type.toBuffer(event)]);
  }

  async publish(events: readonly AlertEvent[]): Promise<void> {
    if (events.length === 0) return;
    const schemaId = await this.id();
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: events.map((event) => ({ key: event.id, value: this.encode(event, schemaId), headers: { state: event.state, rule: event.rule, event_id: event.event_id } })),
    });
  }
}

/** Decodes an alert event value (for tests, the demo and tools). */
export function decodeAlertEvent(value: Buffer): AlertEvent {
  const type = avro.Type.forSchema(JSON.parse(SCHEMA_TEXT) as avro.Schema);
  return type.fromBuffer(value.subarray(5)) as AlertEvent;
}
