import { Cluster, Redis } from 'ioredis';
import { ENDPOINTS, type StateMode } from './endpoints.ts';

/** A plain client on a state deployment, for what only a test looks at directly (raw keys, memory). */
export function rawRedis(mode: StateMode): Redis | Cluster {
  if (mode === 'single') return new Redis(ENDPOINTS.redisUrl);
  return new Cluster(
    ENDPOINTS.redisClusterNodes.map((node) => {
      const at = node.lastIndexOf(':');
      return { host: node.slice(0, at), port: Number(node.slice(at + 1)) };
    }),
  );
}

/** Every key matching a pattern, on every master of a cluster or on the one node. */
export async function scanKeys(client: Redis | Cluster, pattern: string): Promise<string[]> {
  if (client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  const nodes = client instanceof Cluster ? client.nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
      keys.push(...found);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}
