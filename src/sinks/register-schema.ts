import { setTimeout as sleep } from 'node:timers/promises';
import { COMPATIBILITY, SchemaType } from '@kafkajs/confluent-schema-registry';
import { registryClient, type RegistryConnection } from '../sources/registry-client.ts';

/**
 * The id of an Avro schema under a subject, registered if it is not there yet (idempotent: an identical
 * schema returns its id). Writers name the schema their bytes follow this way, never "the latest
 * version". Two processes registering a new subject at once can get a 409 from Apicurio ("already
 * exists"): the registration is looked up again.
 */
export async function registerSchema(connection: RegistryConnection, subject: string, schema: string): Promise<number> {
  const registry = registryClient(connection);
  // The client's default: a new subject is set to BACKWARD compatibility after its first registration.
  let compatibility = COMPATIBILITY.BACKWARD;
  for (let attempt = 1; ; attempt++) {
    try {
      const { id } = await registry.register({ type: SchemaType.AVRO, schema }, { subject, compatibility });
      return id;
    } catch (error) {
      // The client refuses a subject whose level is not the one it is given: a subject its owner set to
      // another level, or one whose registration was cut between its two requests (a worker killed -9
      // there left it at the registry's default, and every other worker failed on it for ever). Its own
      // level is given instead; the client names it only in the message ("(BACKWARD != NONE)").
      const level = subjectLevel(error);
      if (level !== undefined && level !== compatibility && attempt < 3) {
        compatibility = level;
        continue;
      }
      if ((error as { status?: unknown }).status !== 409 || attempt >= 3) throw error;
      await sleep(100 * attempt);
    }
  }
}

function subjectLevel(error: unknown): COMPATIBILITY | undefined {
  if (!(error instanceof Error) || error.name !== 'ConfluentSchemaRegistryCompatibilityError') return undefined;
  const level = /!= (\w+)\)$/.exec(error.message)?.[1];
  return (Object.values(COMPATIBILITY) as string[]).includes(level ?? '') ? (level as COMPATIBILITY) : undefined;
}
