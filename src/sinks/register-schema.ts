import { setTimeout as sleep } from 'node:timers/promises';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { registryClient, type RegistryConnection } from '../sources/registry-client.ts';

/**
 * The id of an Avro schema under a subject, registered if it is not there yet (idempotent: an identical
 * schema returns its id). Writers name the schema their bytes follow this way, never "the latest
 * version". Two processes registering a new subject at once can get a 409 from Apicurio ("already
 * exists"): the registration is looked up again.
 */
export async function registerSchema(connection: RegistryConnection, subject: string, schema: string): Promise<number> {
  const registry = registryClient(connection);
  for (let attempt = 1; ; attempt++) {
    try {
      const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject });
      return id;
    } catch (error) {
      if ((error as { status?: unknown }).status !== 409 || attempt >= 3) throw error;
      await sleep(100 * attempt);
    }
  }
}
