import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DriftwatchError, errorMessage } from '../errors.ts';
import { tcpExchange } from './net.ts';
import type { StackPaths } from './paths.ts';
import { livePid, logTail, removePidFile, runLogged, spawnDetached, stopProcess, which, writePidFile } from './process.ts';
import type { Health } from './types.ts';

export const REDIS_CLUSTER_HOST = '127.0.0.1';
export const REDIS_CLUSTER_PORTS = [7001, 7002, 7003] as const;
export const REDIS_CLUSTER_NODES: readonly string[] = REDIS_CLUSTER_PORTS.map((port) => `${REDIS_CLUSTER_HOST}:${port}`);

const START_TIMEOUT_MS = 15_000;
const FORM_TIMEOUT_MS = 30_000;

const nodeName = (port: number) => `redis-cluster-${port}`;
const nodeDir = (paths: StackPaths, port: number) => join(paths.root, 'redis-cluster', String(port));
const pidFile = (paths: StackPaths, port: number) => join(paths.run, `${nodeName(port)}.pid`);
const logFile = (paths: StackPaths, port: number) => join(paths.logs, `${nodeName(port)}.log`);

/** CLUSTER INFO over a raw socket: the node answers, and whether the cluster it is part of serves every slot. */
export async function clusterNodeHealth(port: number): Promise<Health & { state?: string; knownNodes?: number }> {
  try {
    const answer = await tcpExchange(REDIS_CLUSTER_HOST, port, 'CLUSTER INFO\r\n', bulkReplyComplete, 1500);
    if (answer.startsWith('-')) return { healthy: false, detail: answer.trim() };
    const state = /cluster_state:(\w+)/.exec(answer)?.[1];
    const knownNodes = Number(/cluster_known_nodes:(\d+)/.exec(answer)?.[1] ?? 0);
    return { healthy: state === 'ok', detail: `cluster_state:${state ?? '?'}, ${knownNodes} nodes`, ...(state === undefined ? {} : { state }), knownNodes };
  } catch (error) {
    return { healthy: false, detail: errorMessage(error) };
  }
}

/** A RESP error line, or a bulk string "$<length>\r\n<bytes>\r\n" read to its end (CLUSTER INFO is ASCII). */
function bulkReplyComplete(text: string): boolean {
  if (text.startsWith('-')) return text.includes('\r\n');
  const header = /^\$(\d+)\r\n/.exec(text);
  return header !== null && text.length >= header[0].length + Number(header[1]) + 2;
}

export interface RedisClusterUpResult {
  nodes: { address: string; pid: number | null; started: boolean }[];
  created: boolean;
  health: Health;
}

/**
 * A 3-master Redis Cluster on loopback (ports 7001–7003), from Debian's redis-server, for tests and the
 * benchmark of the cluster layout: nodes started detached with AOF, then `redis-cli --cluster create`
 * the first time. Idempotent: a healthy cluster is left as it is.
 */
export async function redisClusterUp(paths: StackPaths, progress: (message: string) => void): Promise<RedisClusterUpResult> {
  if (which('redis-server') === undefined || which('redis-cli') === undefined) {
    throw new DriftwatchError('DW_ERR_STACK', 'redis-cluster: redis-server and redis-cli are needed (`apt-get install redis-server`); `stack up` installs them with the single Redis');
  }
  const template = readFileSync(join(paths.templates, 'redis', 'redis-cluster.conf'), 'utf8');
  const nodes: RedisClusterUpResult['nodes'] = [];
  for (const port of REDIS_CLUSTER_PORTS) {
    const address = `${REDIS_CLUSTER_HOST}:${port}`;
    const ours = livePid(pidFile(paths, port));
    if (ours !== undefined) {
      nodes.push({ address, pid: ours.pid, started: false });
      continue;
    }
    const health = await clusterNodeHealth(port);
    if (health.state !== undefined) {
      progress(`redis-cluster: something already answers as a cluster node on ${address}; using it`);
      nodes.push({ address, pid: null, started: false });
      continue;
    }
    const dir = nodeDir(paths, port);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, 'redis.conf');
    writeFileSync(conf, template.replaceAll('@PORT@', String(port)).replaceAll('@DATA_DIR@', dir).replaceAll('@LOG_FILE@', logFile(paths, port)));
    const child = spawnDetached('redis-server', [conf], { cwd: dir, logFile: logFile(paths, port) });
    // redis-server retitles itself "redis-server 127.0.0.1:<port> [cluster]": the address is the marker.
    writePidFile(pidFile(paths, port), { pid: child.pid, marker: address, startedAt: Date.now(), command: `redis-server ${address} (cluster)` });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while ((await clusterNodeHealth(port)).state === undefined) {
      if (Date.now() > deadline) throw new DriftwatchError('DW_ERR_STACK', `redis-cluster: ${address} did not answer within ${START_TIMEOUT_MS / 1000}s; log: ${logFile(paths, port)}\n${await logTail(logFile(paths, port))}`);
      await sleep(200);
    }
    progress(`redis-cluster: node ${address} started (pid ${child.pid})`);
    nodes.push({ address, pid: child.pid, started: true });
  }

  let created = false;
  const first = await clusterNodeHealth(REDIS_CLUSTER_PORTS[0]);
  if (!first.healthy && (first.knownNodes ?? 0) <= 1) {
    progress(`redis-cluster: creating the cluster of ${REDIS_CLUSTER_NODES.join(', ')} (3 masters, no replicas)`);
    await runLogged('redis-cli', ['--cluster', 'create', ...REDIS_CLUSTER_NODES, '--cluster-replicas', '0', '--cluster-yes'], {
      cwd: paths.root,
      logFile: join(paths.logs, 'redis-cluster-create.log'),
      what: 'redis-cluster: redis-cli --cluster create',
    });
    created = true;
  }
  const deadline = Date.now() + FORM_TIMEOUT_MS;
  let health: Health = first;
  for (;;) {
    const all = await Promise.all(REDIS_CLUSTER_PORTS.map((port) => clusterNodeHealth(port)));
    health = { healthy: all.every((node) => node.healthy), detail: all.map((node, i) => `${REDIS_CLUSTER_PORTS[i]}: ${node.detail}`).join('; ') };
    if (health.healthy) break;
    if (Date.now() > deadline) throw new DriftwatchError('DW_ERR_STACK', `redis-cluster: not serving every slot after ${FORM_TIMEOUT_MS / 1000}s (${health.detail}); logs: ${paths.logs}/redis-cluster-*.log`);
    await sleep(250);
  }
  return { nodes, created, health };
}

export async function redisClusterStatus(paths: StackPaths): Promise<{ address: string; pid: number | null; health: Health }[]> {
  return Promise.all(
    REDIS_CLUSTER_PORTS.map(async (port) => ({ address: `${REDIS_CLUSTER_HOST}:${port}`, pid: livePid(pidFile(paths, port))?.pid ?? null, health: await clusterNodeHealth(port) })),
  );
}

/** Stops the cluster's nodes this stack started (their data and cluster config stay). */
export async function redisClusterDown(paths: StackPaths): Promise<{ address: string; action: string }[]> {
  return Promise.all(
    REDIS_CLUSTER_PORTS.map(async (port) => {
      const address = `${REDIS_CLUSTER_HOST}:${port}`;
      const ours = livePid(pidFile(paths, port));
      if (ours === undefined) return { address, action: 'not running' };
      const outcome = await stopProcess(ours, 20_000);
      removePidFile(pidFile(paths, port));
      return { address, action: outcome === 'killed' ? 'killed' : 'stopped' };
    }),
  );
}

/** Where `stack down --purge` deletes the cluster's data. */
export const redisClusterDataDir = (paths: StackPaths): string => join(paths.root, 'redis-cluster');
