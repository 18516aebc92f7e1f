import type { ClusterOptions, RedisOptions } from 'ioredis';
import { tlsConnectionOptions, type ReadFile } from '../config/tls.ts';
import type { Topology } from '../config/topology.ts';

export type RedisConnectionSettings = Pick<Topology['state'], 'redis_url' | 'username' | 'password' | 'tls'>;

/**
 * A topology's Redis address, ACL user and TLS as ioredis options for one node (`new Redis(options)`).
 * TLS is on with a rediss:// URL or a `tls` section; credentials come from `username`/`password` or
 * from the URL. Reads the TLS files (`readFile`, for tests); no connection is made here.
 */
export function redisClientOptions(state: RedisConnectionSettings, readFile?: ReadFile): RedisOptions {
  const url = new URL(state.redis_url);
  const database = url.pathname.replace(/^\//, '');
  const username = state.username ?? (url.username === '' ? undefined : decodeURIComponent(url.username));
  const password = state.password ?? (url.password === '' ? undefined : decodeURIComponent(url.password));
  const tls = url.protocol === 'rediss:' ? (state.tls ?? { verify_hostname: true }) : state.tls;
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    ...(database === '' ? {} : { db: Number(database) }),
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls === undefined ? {} : { tls: tlsConnectionOptions(tls, 'state.tls', readFile) }),
  };
}

/**
 * The same for Redis Cluster (`new Cluster(nodes, options)`): credentials and TLS go to every node
 * through `redisOptions` (a cluster has no database but 0). With TLS, node addresses are not resolved
 * to IPs before connecting (ioredis's advice for TLS clusters such as ElastiCache), so certificates
 * are checked against the names the cluster announces; a cluster that announces bare IPs needs
 * certificates with those IPs, or `tls.server_name`.
 */
export function redisClusterOptions(state: RedisConnectionSettings, readFile?: ReadFile): ClusterOptions {
  const { host: _host, port: _port, db: _db, ...redisOptions } = redisClientOptions(state, readFile);
  return {
    redisOptions,
    ...(redisOptions.tls === undefined ? {} : { dnsLookup: (address: string, callback: (error: null, address: string) => void) => callback(null, address) }),
  };
}
