/**
 * `stack up --secure`: the same Kafka, Redis and registry data, reachable the way production ones are —
 * Kafka over SASL_SSL (SCRAM) on :9094, Redis over TLS with an ACL user on :6390, the registry over
 * HTTPS with basic auth on :8444 — with a local CA, credentials in `secrets.env` and a topology that
 * takes every secret from those variables. Everything lives in `<stack>/secure/`, made once.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DriftwatchError, errorMessage } from '../errors.ts';
import type { StackPaths } from './paths.ts';
import { runLogged, which } from './process.ts';
import type { StackContext } from './types.ts';

export const SECURE_HOST = '127.0.0.1';
export const SECURE_KAFKA_PORT = 9094;
export const SECURE_REDIS_PORT = 6390;
export const SECURE_REGISTRY_PORT = 8444;
export const SECURE_ENDPOINTS = Object.freeze({
  kafkaBrokers: [`${SECURE_HOST}:${SECURE_KAFKA_PORT}`] as readonly string[],
  redisUrl: `rediss://${SECURE_HOST}:${SECURE_REDIS_PORT}`,
  registryUrl: `https://${SECURE_HOST}:${SECURE_REGISTRY_PORT}/apis/ccompat/v7`,
});

/** The user every secure service knows; its passwords are random, made once. */
const USER = 'driftwatch';

/** The secure stack's credentials, as `secrets.env` names them. */
export const SECRET_VARIABLES = {
  kafkaUsername: 'DRIFTWATCH_KAFKA_USERNAME',
  kafkaPassword: 'DRIFTWATCH_KAFKA_PASSWORD',
  redisUsername: 'DRIFTWATCH_REDIS_USERNAME',
  redisPassword: 'DRIFTWATCH_REDIS_PASSWORD',
  registryUsername: 'DRIFTWATCH_REGISTRY_USERNAME',
  registryPassword: 'DRIFTWATCH_REGISTRY_PASSWORD',
} as const;

export type SecureSecrets = Record<keyof typeof SECRET_VARIABLES, string>;

export interface SecureFiles {
  dir: string;
  /** The local CA every secure service's certificate is signed by: what clients trust. */
  ca: string;
  caKey: string;
  /** One server certificate (127.0.0.1 and localhost) for Kafka, Redis and nginx. */
  cert: string;
  key: string;
  /** Key and certificate in one PEM file: Kafka's PEM keystore. */
  kafkaKeystore: string;
  secretsEnv: string;
  topology: string;
}

export function secureFiles(paths: StackPaths): SecureFiles {
  const dir = paths.secure;
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server-key.pem'),
    kafkaKeystore: join(dir, 'kafka-keystore.pem'),
    secretsEnv: join(dir, 'secrets.env'),
    topology: join(dir, 'topology.yaml'),
  };
}

/** Whether `stack up --secure` has made its files here (then Kafka keeps its SASL_SSL listener). */
export function isSecureSetUp(paths: StackPaths): boolean {
  const files = secureFiles(paths);
  return existsSync(files.secretsEnv) && existsSync(files.kafkaKeystore);
}

/** KEY=value lines (comments and blank lines skipped), as `node --env-file` and `set -a; .` read them. */
export function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) values[match[1]] = (match[2] ?? '').trim();
  }
  return values;
}

export function readSecureSecrets(paths: StackPaths): SecureSecrets | undefined {
  let values: Record<string, string>;
  try {
    values = parseEnvFile(readFileSync(secureFiles(paths).secretsEnv, 'utf8'));
  } catch {
    return undefined;
  }
  const secrets: Partial<SecureSecrets> = {};
  for (const [key, variable] of Object.entries(SECRET_VARIABLES) as [keyof SecureSecrets, string][]) {
    const value = values[variable];
    if (value === undefined || value === '') return undefined;
    secrets[key] = value;
  }
  return secrets as SecureSecrets;
}

function writeSecretsEnv(file: string, secrets: SecureSecrets): void {
  const lines = [
    '# Credentials of the local secure stack (`driftwatch stack up --secure`), made once at random.',
    '# Load them with `node --env-file=.stack/secure/secrets.env bin/driftwatch.js ...` or `set -a; . .stack/secure/secrets.env; set +a`.',
    ...(Object.entries(SECRET_VARIABLES) as [keyof SecureSecrets, string][]).map(([key, variable]) => `${variable}=${secrets[key]}`),
    '',
  ];
  writeFileSync(file, lines.join('\n'), { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** A topology that uses only the secure endpoints and takes every secret from secrets.env's variables. */
export function secureTopology(): string {
  const v = SECRET_VARIABLES;
  return `# The local secure stack (\`driftwatch stack up --secure\`): every endpoint over TLS with credentials, every
# secret from the environment. Run a worker with it:
#   node --env-file=.stack/secure/secrets.env bin/driftwatch.js run --topology .stack/secure/topology.yaml
# Relative paths (ca.pem) are relative to this file.
name: secure
sources:
  brokers: ["${SECURE_ENDPOINTS.kafkaBrokers.join('", "')}"]
  group_id: driftwatch-secure
  tls: { ca_file: ca.pem }
  sasl:
    mechanism: scram-sha-512
    username: "\${${v.kafkaUsername}}"
    password: "\${${v.kafkaPassword}}"
  registry_url: ${SECURE_ENDPOINTS.registryUrl}
  registry:
    user_info: "\${${v.registryUsername}}:\${${v.registryPassword}}"
    tls: { ca_file: ca.pem }
state:
  redis_url: ${SECURE_ENDPOINTS.redisUrl}
  username: "\${${v.redisUsername}}"
  password: "\${${v.redisPassword}}"
  tls: { ca_file: ca.pem }
  key_prefix: dw:secure
sinks:
  metrics: { port: 9464, host: 127.0.0.1 }
`;
}

/** The lines that add the SASL_SSL listener to the broker (they follow, and so override, the template's). */
export function secureKafkaProperties(paths: StackPaths, plainListeners: { plain: string; controller: string }): string {
  const files = secureFiles(paths);
  const secure = `SASL_SSL://${SECURE_HOST}:${SECURE_KAFKA_PORT}`;
  return [
    '',
    '# `driftwatch stack up --secure`: a SASL_SSL listener (SCRAM-SHA-512 and -256 users, created with',
    '# kafka-configs) beside the plaintext one. These keys override the same keys above.',
    `listeners=${plainListeners.plain},${plainListeners.controller},${secure}`,
    `advertised.listeners=${plainListeners.plain},${secure}`,
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.ssl.keystore.type=PEM',
    `listener.name.sasl_ssl.ssl.keystore.location=${files.kafkaKeystore}`,
    'listener.name.sasl_ssl.ssl.client.auth=none',
    '',
  ].join('\n');
}

/** Certificates good for at least this much longer are kept. */
const RENEW_BEFORE_SECONDS = 30 * 86_400;
const VALID_DAYS = 825;

async function openssl(ctx: StackContext, args: string[]): Promise<void> {
  await runLogged('openssl', args, { cwd: ctx.paths.secure, logFile: join(ctx.paths.logs, 'secure-install.log'), what: `secure: openssl ${args[0]}` });
}

async function certificateFresh(ctx: StackContext, file: string): Promise<boolean> {
  if (!existsSync(file)) return false;
  try {
    await openssl(ctx, ['x509', '-checkend', String(RENEW_BEFORE_SECONDS), '-noout', '-in', file]);
    return true;
  } catch {
    return false;
  }
}

/** A local CA and a server certificate for 127.0.0.1/localhost, signed by it (openssl, once). */
async function ensureCertificates(ctx: StackContext, files: SecureFiles): Promise<boolean> {
  if ((await certificateFresh(ctx, files.ca)) && (await certificateFresh(ctx, files.cert)) && existsSync(files.key) && existsSync(files.kafkaKeystore)) {
    return false;
  }
  if (which('openssl') === undefined) {
    throw new DriftwatchError('DW_ERR_STACK', 'secure: needs openssl on PATH to make the local certificates (Debian: apt-get install -y openssl)');
  }
  ctx.progress(`secure: making a local CA and a certificate for 127.0.0.1 in ${files.dir}`);
  const days = String(VALID_DAYS);
  await openssl(ctx, [
    'req', '-x509', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', days,
    '-subj', '/CN=driftwatch local stack CA', '-keyout', files.caKey, '-out', files.ca,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const csr = join(files.dir, 'server.csr');
  const extensions = join(files.dir, 'server.ext');
  writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  await openssl(ctx, ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', files.key, '-out', csr]);
  await openssl(ctx, [
    'x509', '-req', '-sha256', '-days', days, '-in', csr, '-CA', files.ca, '-CAkey', files.caKey, '-CAcreateserial',
    '-extfile', extensions, '-out', files.cert,
  ]);
  for (const leftover of [csr, extensions, join(files.dir, 'ca.srl')]) rmSync(leftover, { force: true });
  // Kafka's PEM keystore: the (unencrypted, PKCS#8) key and the certificate chain in one file.
  writeFileSync(files.kafkaKeystore, `${readFileSync(files.key, 'utf8').trim()}\n${readFileSync(files.cert, 'utf8').trim()}\n${readFileSync(files.ca, 'utf8').trim()}\n`, { mode: 0o600 });
  for (const file of [files.caKey, files.key]) chmodSync(file, 0o600);
  return true;
}

export interface SecureMaterial {
  secrets: SecureSecrets;
  /** New certificates: running secure services (Kafka's listener included) must restart to serve them. */
  newCertificates: boolean;
  /** New credentials: the TLS Redis and nginx must restart to know them. */
  newSecrets: boolean;
  changed: boolean;
}

/**
 * Makes what is missing in `<stack>/secure/`: certificates, secrets.env (random passwords, kept across
 * runs: the services were configured with them), topology.yaml. Returns the credentials.
 */
export async function ensureSecureMaterial(ctx: StackContext): Promise<SecureMaterial> {
  const files = secureFiles(ctx.paths);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const newCertificates = await ensureCertificates(ctx, files);
  let changed = newCertificates;
  let secrets = readSecureSecrets(ctx.paths);
  const newSecrets = secrets === undefined;
  if (secrets === undefined) {
    const password = () => randomBytes(16).toString('hex');
    secrets = {
      kafkaUsername: USER,
      kafkaPassword: password(),
      redisUsername: USER,
      redisPassword: password(),
      registryUsername: USER,
      registryPassword: password(),
    };
    writeSecretsEnv(files.secretsEnv, secrets);
    changed = true;
  }
  const topology = secureTopology();
  if (!existsSync(files.topology) || readFileSync(files.topology, 'utf8') !== topology) {
    writeFileSync(files.topology, topology);
    changed = true;
  }
  return { secrets, newCertificates, newSecrets, changed };
}

export function secureError(what: string, error: unknown): DriftwatchError {
  return new DriftwatchError('DW_ERR_STACK', `secure: ${what}: ${errorMessage(error)}`, { cause: error });
}
