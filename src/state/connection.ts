import { readFileSync } from 'node:fs';
import { Cluster, Redis, type Result } from 'ioredis';
import { redactUrl } from '../telemetry/redact.ts';
import { redisClientOptions, redisClusterOptions, type RedisConnectionSettings } from './redis-client-options.ts';

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');

/** One client type for both deployments: a single node or a Redis Cluster (same commands, same scripts). */
export type RedisClient = Redis | Cluster;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Arrays are spread into the command by ioredis (one level): a batch's ops never go through a JS spread. */
    dwApplyUnits(numKeys: number, ...args: (string | Buffer | number | (string | Buffer | number)[])[]): Result<[number[], string[], number[], number, string[]], Context>;
    dwClaimJoinsBuffer(numKeys: number, ...args: (string | Buffer | number | (string | Buffer | number)[])[]): Result<(number | Buffer)[], Context>;
    dwCompactList(key: string, count: number, merged: Buffer, firstSha: string, lastSha: string): Result<number, Context>;
    dwRenewLease(lease: string, worker: string, ttlMs: number): Result<number, Context>;
    dwAlertTransitions(lease: string, alerts: string, outbox: string, ...args: string[]): Result<number, Context>;
    dwAckOutbox(outbox: string, published: string, entry: string, idState: string, now: number, keepMs: number): Result<number, Context>;
    dwPairRequests(numKeys: number, ...args: (string | Buffer | number | (string | Buffer | number)[])[]): Result<(string | number)[], Context>;
    dwComparisonState(lease: string, comparison: string, verdict: string, worker: string, state: string, stateTtlMs: number, event: string, auditTtlMs: number): Result<number, Context>;
    dwAckVerdict(verdict: string, now: number): Result<number, Context>;
    dwOutboxOrphans(lease: string, outbox: string, worker: string, minAgeMs: number): Result<string[], Context>;
    dwRestoreAlert(alerts: string, published: string, field: string, incident: string, lastState: string, firingState: string, now: number): Result<number, Context>;
  }
}

export interface Connection {
  client: RedisClient;
  /** A Redis Cluster: calls are grouped by hash tag; on a single node one call may carry several tags. */
  cluster: boolean;
  /** Where it points, without credentials: for logs, errors and `status`. */
  address: string;
}

export interface ConnectionSpec extends RedisConnectionSettings {
  /** host:port of some cluster nodes; set = cluster mode. */
  cluster_nodes?: readonly string[] | undefined;
  /** ms; a command unanswered this long fails (ioredis commandTimeout), default 10 s. */
  command_timeout?: number | undefined;
}

/**
 * Connects to the state's Redis, a single node or a cluster, with the scripts defined. Commands issued
 * together are pipelined automatically (per node on a cluster) and queue through a reconnect (the
 * offline queue; `maxRetriesPerRequest: null`), but none waits longer than `command_timeout`: a paused,
 * full or vanished Redis turns into errors the caller sees, reports and retries, not a silent hang.
 */
export function connect(spec: ConnectionSpec, options: { maxRetriesPerRequest?: number | null } = {}): Connection {
  const maxRetriesPerRequest = options.maxRetriesPerRequest === undefined ? null : options.maxRetriesPerRequest;
  const commandTimeout = spec.command_timeout ?? 10_000;
  const backoff = (attempt: number) => Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
  let connection: Connection;
  const nodes = spec.cluster_nodes ?? [];
  if (nodes.length > 0) {
    const security = redisClusterOptions(spec);
    const client = new Cluster(
      nodes.map((node) => {
        const at = node.lastIndexOf(':');
        return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
      }),
      {
        ...security,
        enableAutoPipelining: true,
        // ioredis routes an auto-pipelined script by its first argument, which for these is the key count,
        // not a key: they are sent on their own (still concurrently), routed by their keys.
        autoPipeliningIgnoredCommands: ['dwApplyUnits', 'dwClaimJoins', 'dwPairRequests'],
        enableOfflineQueue: true,
        clusterRetryStrategy: backoff,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 500,
        redisOptions: { ...security.redisOptions, maxRetriesPerRequest, commandTimeout },
      },
    );
    connection = { client, cluster: true, address: `cluster ${nodes.join(',')}` };
  } else {
    const client = new Redis({ ...redisClientOptions(spec), enableAutoPipelining: true, maxRetriesPerRequest, enableOfflineQueue: true, retryStrategy: backoff, commandTimeout });
    connection = { client, cluster: false, address: redactUrl(spec.redis_url) };
  }
  const { client } = connection;
  client.defineCommand('dwApplyUnits', { lua: script('apply-units') });
  client.defineCommand('dwClaimJoins', { lua: script('claim-joins') });
  client.defineCommand('dwCompactList', { numberOfKeys: 1, lua: script('compact-list') });
  client.defineCommand('dwRenewLease', { numberOfKeys: 1, lua: script('renew-lease') });
  client.defineCommand('dwAlertTransitions', { numberOfKeys: 3, lua: script('alert-transitions') });
  client.defineCommand('dwAckOutbox', { numberOfKeys: 2, lua: script('ack-outbox') });
  client.defineCommand('dwPairRequests', { lua: script('pair-requests') });
  client.defineCommand('dwComparisonState', { numberOfKeys: 3, lua: script('comparison-state') });
  client.defineCommand('dwAckVerdict', { numberOfKeys: 1, lua: script('ack-verdict') });
  client.defineCommand('dwOutboxOrphans', { numberOfKeys: 2, lua: script('outbox-orphans') });
  client.defineCommand('dwRestoreAlert', { numberOfKeys: 2, lua: script('restore-alert') });
  return connection;
}
