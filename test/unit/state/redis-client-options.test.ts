import { describe, expect, it } from 'vitest';
import { parseTopology } from '../../../src/config/topology.ts';
import { redisClientOptions, redisClusterOptions } from '../../../src/state/redis-client-options.ts';

const readFile = (path: string) => `PEM of ${path}`;
const state = (document: Record<string, unknown>) => parseTopology({ state: document }).state;

describe('Redis client options', () => {
  it('plain single node: address and database from the URL, nothing else', () => {
    expect(redisClientOptions(state({ redis_url: 'redis://10.0.0.5:6380/2' }), readFile)).toEqual({ host: '10.0.0.5', port: 6380, db: 2 });
    expect(redisClientOptions(state({}), readFile)).toEqual({ host: '127.0.0.1', port: 6379 });
  });

  it('rediss:// turns TLS on with host-name verification; ACL user and password from the keys', () => {
    expect(redisClientOptions(state({ redis_url: 'rediss://redis.internal:6390', username: 'driftwatch', password: 'acl-pass-1' }), readFile)).toEqual({
      host: 'redis.internal',
      port: 6390,
      username: 'driftwatch',
      password: 'acl-pass-1',
      tls: { rejectUnauthorized: true },
    });
  });

  it('credentials may stay in the URL (percent-decoded); a tls section turns TLS on with its CA', () => {
    const options = redisClientOptions(state({ redis_url: 'redis://dw:p%3Ass@[::1]:6390', tls: { ca_file: '/tls/ca.pem' } }), readFile);
    expect(options).toEqual({ host: '::1', port: 6390, username: 'dw', password: 'p:ss', tls: { rejectUnauthorized: true, ca: 'PEM of /tls/ca.pem' } });
  });

  it('cluster: credentials and TLS for every node, hostnames kept for TLS verification', () => {
    const options = redisClusterOptions(state({ redis_url: 'rediss://redis-cluster:6379/0', username: 'dw', password: 'acl-pass-1', tls: { ca_file: '/tls/ca.pem', server_name: 'redis.internal' } }), readFile);
    expect(options.redisOptions).toEqual({ username: 'dw', password: 'acl-pass-1', tls: { rejectUnauthorized: true, ca: 'PEM of /tls/ca.pem', servername: 'redis.internal' } });
    let looked: string | undefined;
    options.dnsLookup?.('node-3.redis.internal', (_error, address) => (looked = address));
    expect(looked).toBe('node-3.redis.internal');
    expect(redisClusterOptions(state({}), readFile)).toEqual({ redisOptions: {} });
  });

  it('refuses a non-Redis URL and credentials given twice', () => {
    expect(() => state({ redis_url: 'http://redis:6379' })).toThrow(/state\.redis_url: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => state({ redis_url: 'redis://:a@redis:6379', password: 'b-pass' })).toThrow(/state\.password: a password is given in redis_url too/);
  });
});
