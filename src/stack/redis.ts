import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DriftwatchError, errorMessage } from '../errors.ts';
import { aptGetInstall } from './install.ts';
import { spawnDetached, which } from './process.ts';
import { tcpExchange } from './net.ts';
import type { Health, ServiceDriver, StackContext } from './types.ts';

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const REDIS_URL = `redis://${REDIS_HOST}:${REDIS_PORT}`;

const confFile = (ctx: StackContext): string => join(ctx.paths.serviceDir('redis'), 'redis.conf');

/** Raw RESP PING: no client library, answers in milliseconds, and tells "needs a password" apart from "down". */
export async function redisHealth(host = REDIS_HOST, port = REDIS_PORT): Promise<Health> {
  try {
    const answer = await tcpExchange(host, port, 'PING\r\n', (text) => text.includes('\r\n'), 1500);
    if (answer.startsWith('+PONG')) return { healthy: true, detail: 'PONG' };
    return { healthy: false, detail: `answered PING with ${JSON.stringify(answer.trim())}` };
  } catch (error) {
    return { healthy: false, detail: errorMessage(error) };
  }
}

function redisVersion(): string {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 2000 });
    const version = /v=([\d.]+)/.exec(out)?.[1];
    return version === undefined ? 'Redis' : `Redis ${version}`;
  } catch {
    return 'Redis';
  }
}

export const redisDriver: ServiceDriver = {
  name: 'redis',
  address: `${REDIS_HOST}:${REDIS_PORT}`,
  port: REDIS_PORT,
  marker: 'redis-server',
  startTimeoutMs: 15_000,
  stopGraceMs: 20_000,

  product: redisVersion,

  isInstalled: async () => which('redis-server') !== undefined,

  async install(ctx) {
    await aptGetInstall(ctx, 'redis', ['redis-server']);
    if (which('redis-server') === undefined) {
      throw new DriftwatchError('DW_ERR_STACK', `redis: apt-get finished but redis-server is not on PATH; log: ${ctx.paths.installLogFile('redis')}`);
    }
    return { queuedMs: 0 };
  },

  prepare: (ctx) => prepareRedis(ctx, REDIS_PORT),
  afterStart: (ctx) => turnOnAppendOnlyFile(ctx, REDIS_PORT),

  spawn: (ctx) => spawnDetached('redis-server', [confFile(ctx)], { cwd: ctx.paths.dataDir('redis'), logFile: ctx.paths.logFile('redis') }),

  health: () => redisHealth(),
};

/** Another Redis on loopback (the fault suite's), on its own port, configured like the stack's. */
export function createRedisDriver(port: number): ServiceDriver {
  return {
    ...redisDriver,
    address: `${REDIS_HOST}:${port}`,
    port,
    ports: [port],
    prepare: (ctx) => prepareRedis(ctx, port),
    afterStart: (ctx) => turnOnAppendOnlyFile(ctx, port),
    health: () => redisHealth(REDIS_HOST, port),
  };
}

async function prepareRedis(ctx: StackContext, port: number): Promise<void> {
  const dataDir = ctx.paths.dataDir('redis');
  mkdirSync(dataDir, { recursive: true });
  let conf = readFileSync(join(ctx.paths.templates, 'redis', 'redis.conf'), 'utf8');
  // A data dir from before AOF (an RDB snapshot, no appendonlydir): Redis started with `appendonly yes`
  // would ignore the snapshot and come up empty (Redis 7.0, measured). Start it from the snapshot once;
  // afterStart turns AOF on.
  if (existsSync(join(dataDir, 'dump.rdb')) && !existsSync(join(dataDir, 'appendonlydir'))) conf = conf.replace(/^appendonly yes$/m, 'appendonly no');
  writeFileSync(confFile(ctx), conf.replaceAll('@PORT@', String(port)).replaceAll('@DATA_DIR@', dataDir).replaceAll('@LOG_FILE@', ctx.paths.logFile('redis')));
}

/** Redis writes the AOF from the loaded dataset in the background: the documented switch from RDB to AOF. */
async function turnOnAppendOnlyFile(ctx: StackContext, port: number): Promise<void> {
  const persistence = await tcpExchange(REDIS_HOST, port, 'INFO persistence\r\n', (text) => text.includes('aof_enabled:'), 3000);
  if (!persistence.includes('aof_enabled:0')) return;
  ctx.progress(`redis: turning on the append-only file (from the snapshot in ${ctx.paths.dataDir('redis')})`);
  await tcpExchange(REDIS_HOST, port, 'CONFIG SET appendonly yes\r\n', (text) => text.includes('\r\n'), 3000);
}
