import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { errorMessage } from '../errors.ts';
import { KAFKA_BROKERS, runKafkaTool } from './kafka.ts';
import { readSecureSecrets, SECURE_ENDPOINTS, secureFiles, type SecureSecrets } from './secure.ts';
import type { StackPaths } from './paths.ts';
import type { Health, StackContext } from './types.ts';

/** Lists topics over SASL_SSL as the stack's SCRAM-SHA-512 user, failing fast (a health check). */
async function listTopicsAsUser(paths: StackPaths, secrets: SecureSecrets): Promise<string[]> {
  const kafka = new Kafka({
    clientId: 'driftwatch-stack',
    brokers: [...SECURE_ENDPOINTS.kafkaBrokers],
    ssl: { ca: readFileSync(secureFiles(paths).ca, 'utf8'), rejectUnauthorized: true },
    sasl: { mechanism: 'scram-sha-512', username: secrets.kafkaUsername, password: secrets.kafkaPassword },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    authenticationTimeout: 3000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await admin.listTopics();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function kafkaSaslHealth(paths: StackPaths): Promise<Health> {
  const secrets = readSecureSecrets(paths);
  if (secrets === undefined) return { healthy: false, detail: 'no secrets.env (run `driftwatch stack up --secure`)' };
  try {
    const topics = await listTopicsAsUser(paths, secrets);
    return { healthy: true, detail: `${topics.length} topics over SASL_SSL as ${secrets.kafkaUsername}` };
  } catch (error) {
    return { healthy: false, detail: errorMessage(error) };
  }
}

/**
 * Creates (or resets) the SCRAM-SHA-512 and -256 credentials of the stack's user in the KRaft metadata,
 * through the plaintext listener (kafka-configs), unless the user can already log in. The password goes
 * in a 0600 file, not on a command line. Returns whether it had to.
 */
export async function ensureScramUser(ctx: StackContext, secrets: SecureSecrets): Promise<boolean> {
  if ((await kafkaSaslHealth(ctx.paths)).healthy) return false;
  ctx.progress(`kafka: creating the SCRAM user "${secrets.kafkaUsername}" for the SASL_SSL listener`);
  const configFile = join(ctx.paths.secure, 'scram-user.properties');
  try {
    // One mechanism per call: Kafka 3.9 refuses two credentials of one user in one request from a file
    // ("cannot be altered twice"). In a file the value has no [brackets] (those are command-line syntax).
    for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256']) {
      writeFileSync(configFile, `${mechanism}=iterations=8192,password=${secrets.kafkaPassword}\n`, { mode: 0o600 });
      await runKafkaTool(
        ctx,
        'kafka.admin.ConfigCommand',
        ['--bootstrap-server', KAFKA_BROKERS.join(','), '--alter', '--add-config-file', configFile, '--entity-type', 'users', '--entity-name', secrets.kafkaUsername],
        `kafka: create the ${mechanism} user (kafka-configs --alter --entity-type users)`,
      );
    }
  } finally {
    rmSync(configFile, { force: true });
  }
  // The broker learns the credential from the metadata log a moment later.
  let last: Health = { healthy: false, detail: 'not checked' };
  for (let attempt = 0; attempt < 20; attempt++) {
    last = await kafkaSaslHealth(ctx.paths);
    if (last.healthy) return true;
    await sleep(500);
  }
  throw new Error(`the SCRAM user was created but cannot log in over SASL_SSL: ${last.detail}`);
}
