import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DriftwatchError, errorMessage } from '../errors.ts';
import { runLogged, spawnDetached, which } from './process.ts';
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

/** A Redis on loopback, listening on `port`, with the stack's configuration (AOF, noeviction). */
export function createRedisDriver(port = REDIS_PORT): ServiceDriver {
  return {
    name: 'redis',
    address: `${REDIS_HOST}:${port}`,
    port,
    ports: [port],
    marker: 'redis-server',
    startTimeoutMs: 15_000,
    stopGraceMs: 20_000,

    product: redisVersion,

    isInstalled: async () => which('redis-server') !== undefined,

    async install(ctx) {
      if (which('apt-get') === undefined) {
        throw new DriftwatchError('DW_ERR_STACK', 'redis: redis-server is not installed and there is no apt-get to install it; install Redis 6+ and retry');
      }
      const asRoot = process.getuid?.() === 0;
      if (!asRoot && which('sudo') === undefined) {
        throw new DriftwatchError('DW_ERR_STACK', 'redis: redis-server is not installed; run `sudo apt-get install -y redis-server` and retry');
      }
      const [command, prefix] = asRoot ? ['apt-get', []] : ['sudo', ['-n', 'apt-get']];
      ctx.progress(`redis: installing redis-server with apt-get (log: ${ctx.paths.installLogFile('redis')})`);
      await runLogged(command, [...prefix, 'install', '-y', '-q', '--no-install-recommends', 'redis-server'], {
        cwd: ctx.paths.root,
        logFile: ctx.paths.installLogFile('redis'),
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
        what: 'redis: install (apt-get install -y redis-server)',
      });
      if (which('redis-server') === undefined) {
        throw new DriftwatchError('DW_ERR_STACK', `redis: apt-get finished but redis-server is not on PATH; log: ${ctx.paths.installLogFile('redis')}`);
      }
      return { queuedMs: 0 };
    },

    async prepare(ctx) {
      const dataDir = ctx.paths.dataDir('redis');
      mkdirSync(dataDir, { recursive: true });
      let conf = readFileSync(join(ctx.paths.templates, 'redis', 'redis.conf'), 'utf8');
      // A data dir from before AOF (an RDB snapshot, no appendonlydir): Redis started with `appendonly yes`
      // would ignore the snapshot and come up empty. Start it from the snapshot once; afterStart turns AOF on.
      if (existsSync(join(dataDir, 'dump.rdb')) && !existsSync(join(dataDir, 'appendonlydir'))) conf = conf.replace(/^appendonly yes$/m, 'appendonly no');
      writeFileSync(confFile(ctx), conf.replaceAll('@PORT@', String(port)).replaceAll('@DATA_DIR@', dataDir).replaceAll('@LOG_FILE@', ctx.paths.logFile('redis')));
    },

    async afterStart(ctx) {
      const persistence = await tcpExchange(REDIS_HOST, port, 'INFO persistence\r\n', (text) => text.includes('aof_enabled:'), 3000);
      if (!persistence.includes('aof_enabled:0')) return;
      // Redis writes the AOF from the loaded dataset in the background (the documented switch from RDB to AOF).
      ctx.progress(`redis: turning on the append-only file (from the snapshot in ${ctx.paths.dataDir('redis')})`);
      await tcpExchange(REDIS_HOST, port, 'CONFIG SET appendonly yes\r\n', (text) => text.includes('\r\n'), 3000);
    },

    spawn: (ctx) => spawnDetached('redis-server', [confFile(ctx)], { cwd: ctx.paths.dataDir('redis'), logFile: ctx.paths.logFile('redis') }),

    health: () => redisHealth(REDIS_HOST, port),
  };
}

export const redisDriver: ServiceDriver = createRedisDriver();
