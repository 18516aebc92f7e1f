import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

  async prepare(ctx) {
    const dataDir = ctx.paths.dataDir('redis');
    mkdirSync(dataDir, { recursive: true });
    const template = readFileSync(join(ctx.paths.templates, 'redis', 'redis.conf'), 'utf8');
    writeFileSync(confFile(ctx), template.replaceAll('@DATA_DIR@', dataDir).replaceAll('@LOG_FILE@', ctx.paths.logFile('redis')));
  },

  spawn: (ctx) => spawnDetached('redis-server', [confFile(ctx)], { cwd: ctx.paths.dataDir('redis'), logFile: ctx.paths.logFile('redis') }),

  health: () => redisHealth(),
};
