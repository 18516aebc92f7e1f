import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorMessage } from '../errors.ts';
import { tcpExchange } from './net.ts';
import { spawnDetached } from './process.ts';
import { redisDriver } from './redis.ts';
import { readSecureSecrets, SECURE_HOST, SECURE_REDIS_PORT, secureFiles } from './secure.ts';
import type { StackPaths } from './paths.ts';
import type { Health, ServiceDriver, StackContext } from './types.ts';

const serviceDir = (ctx: StackContext): string => join(ctx.paths.secure, 'redis');
export const redisTlsDataDir = (paths: StackPaths): string => join(paths.secure, 'redis', 'data');
const dataDir = (ctx: StackContext): string => redisTlsDataDir(ctx.paths);
const confFile = (ctx: StackContext): string => join(serviceDir(ctx), 'redis-tls.conf');

/** AUTH as the ACL user, then PING, over TLS with the local CA: PONG means TLS, the user and Redis all work. */
async function redisTlsHealth(ctx: StackContext): Promise<Health> {
  const secrets = readSecureSecrets(ctx.paths);
  if (secrets === undefined) return { healthy: false, detail: 'no secrets.env (run `driftwatch stack up --secure`)' };
  try {
    const answer = await tcpExchange(
      SECURE_HOST,
      SECURE_REDIS_PORT,
      `AUTH ${secrets.redisUsername} ${secrets.redisPassword}\r\nPING\r\n`,
      (text) => text.split('\r\n').length > 2,
      3000,
      { ca: readFileSync(secureFiles(ctx.paths).ca, 'utf8') },
    );
    if (answer.startsWith('+OK\r\n+PONG')) return { healthy: true, detail: `PONG over TLS as ${secrets.redisUsername}` };
    // Redis's own words ("WRONGPASS ..."), never ours: the password is not in them.
    return { healthy: false, detail: `answered AUTH/PING with ${JSON.stringify(answer.trim().split('\r\n')[0])}` };
  } catch (error) {
    return { healthy: false, detail: errorMessage(error) };
  }
}

/** A second redis-server: TLS only on :6390, an ACL user, the default user off; its own data. */
export const redisTlsDriver: ServiceDriver = {
  name: 'redis-tls',
  address: `${SECURE_HOST}:${SECURE_REDIS_PORT}`,
  port: SECURE_REDIS_PORT,
  marker: 'redis-server',
  startTimeoutMs: 15_000,
  stopGraceMs: 20_000,

  product: (ctx) => `${redisDriver.product(ctx)} (TLS, ACL user)`,
  isInstalled: redisDriver.isInstalled,
  install: redisDriver.install,

  async prepare(ctx) {
    const secrets = readSecureSecrets(ctx.paths);
    if (secrets === undefined) throw new Error('redis-tls: no secrets.env; `driftwatch stack up --secure` makes it');
    const files = secureFiles(ctx.paths);
    mkdirSync(dataDir(ctx), { recursive: true });
    const values: Record<string, string> = {
      PORT: String(SECURE_REDIS_PORT),
      CERT_FILE: files.cert,
      KEY_FILE: files.key,
      CA_FILE: files.ca,
      LOG_FILE: ctx.paths.logFile('redis-tls'),
      DATA_DIR: dataDir(ctx),
      USER: secrets.redisUsername,
      PASSWORD_SHA256: createHash('sha256').update(secrets.redisPassword).digest('hex'),
    };
    let text = readFileSync(join(ctx.paths.templates, 'redis', 'redis-tls.conf'), 'utf8');
    for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value);
    writeFileSync(confFile(ctx), text, { mode: 0o600 });
  },

  spawn: (ctx) => spawnDetached('redis-server', [confFile(ctx)], { cwd: dataDir(ctx), logFile: ctx.paths.logFile('redis-tls') }),

  health: redisTlsHealth,
};
