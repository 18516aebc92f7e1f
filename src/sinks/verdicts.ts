import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { Producer } from 'kafkajs';
import { confluentHeader } from '../decode/index.ts';
import { verdictKey, type VerdictEvent } from '../evaluate/verdict-event.ts';
import type { RegistryConnection } from '../sources/registry-client.ts';
import { registerSchema } from './register-schema.ts';

const SCHEMA_TEXT = readFileSync(new URL('../../schemas/verdict-event.avsc', import.meta.url), 'utf8');
const type = avro.Type.forSchema(JSON.parse(SCHEMA_TEXT) as avro.Schema);

/**
 * Verdict events on Kafka: Confluent Avro (schema registered under the topic's subject), key =
 * predictor/candidate so that a compacted topic keeps each candidate's verdict, acks from every replica.
 */
export class VerdictSink {
  private schemaId: number | undefined;

  constructor(
    private readonly producer: Producer,
    readonly topic: string,
    private readonly registry: RegistryConnection,
  ) {}

  private async id(): Promise<number> {
    if (this.schemaId === undefined) {
      // Registering an identical schema returns its existing id: safe from every worker.
      this.schemaId = await registerSchema(this.registry, `${this.topic}-value`, SCHEMA_TEXT);
    }
    return this.schemaId;
  }

  async publish(event: VerdictEvent): Promise<void> {
    const value = Buffer.concat([confluentHeader(await this.id()), type.toBuffer(event)]);
    await this.producer.send({ topic: this.topic, acks: -1, messages: [{ key: verdictKey(event), value, headers: { decision: event.decision, verdict_id: event.verdict_id } }] });
  }
}

/** Decodes a verdict event value (tests, the demo, tools). */
export function decodeVerdictEvent(value: Buffer): VerdictEvent {
  return type.fromBuffer(value.subarray(5)) as VerdictEvent;
}
