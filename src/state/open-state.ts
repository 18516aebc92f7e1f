import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import { DriftwatchError } from '../errors.ts';
import { BaselineStore } from './baseline-store.ts';
import { BatchStore } from './batch-store.ts';
import { ComparisonStore } from './comparison-store.ts';
import type { StateCodecs } from './codecs.ts';
import { Compactor } from './compaction.ts';
import { connect, type ConnectionSpec, type RedisClient } from './connection.ts';
import { EvaluationStore } from './evaluation-store.ts';
import { JoinStore } from './join-store.ts';
import { KeyLayout } from './keys.ts';
import { PairStore } from './pair-store.ts';
import { WindowStore } from './window-store.ts';

/** The state section of a topology, as far as the state layer needs it. */
export interface StateSpec extends ConnectionSpec {
  key_prefix: string;
  /** `recent` (absent or null: none): small buckets of the last seconds, for windows shorter than a fine bucket. */
  retention: { recent?: { bucket: number; keep: number } | null; fine: { bucket: number; keep: number }; coarse: { bucket: number; keep: number } };
  caps: { features_per_model: number; models: number };
  /** Redis commands fail after this long (ms) instead of waiting forever (state.command_timeout). */
  command_timeout?: number;
  label_join_ttl: number;
}

export interface StateOptions {
  /** windows.max_future: join records this far ahead are accepted, so labels look that far ahead. */
  maxFutureMs: number;
  /** Pair entries of shadow and primary predictions live this long (topology comparisons.pair_ttl; default 10 min). */
  pairTtlMs?: number;
  /** A bucket list this long is compacted (default 16). */
  compactAt?: number;
  /** Commands fail after this many reconnect attempts instead of waiting (CLI commands); null: wait. */
  maxRetriesPerRequest?: number | null;
  onCompactionError?: (key: string, error: unknown) => void;
}

export interface StateHealth {
  /** Where the state lives, without credentials. */
  readonly address: string;
  readonly cluster: boolean;
  /** Connected and ready for commands. */
  ready(): boolean;
  /** Called when Redis goes away (with the error) and when it is back. */
  onChange(listener: (up: boolean, error?: Error) => void): void;
  ping(): Promise<void>;
  /**
   * Throws DW_ERR_CONFIG when a node may evict keys (`maxmemory-policy` other than noeviction, read
   * from INFO: CONFIG is often disabled on managed Redis): an evicted watermark double-counts, an
   * evicted bucket loses data silently.
   */
  checkEvictionPolicy(): Promise<void>;
  /**
   * The state's generation: a random id written once under the global tag. A different id (or none,
   * replaced now) means the dataset was lost or replaced since it was last read: `created` says so.
   */
  generation(): Promise<{ id: string; created: boolean }>;
}

/** For tests, benchmarks and the demo: what is stored under the prefix, and wiping it. */
export interface StateAdmin {
  /** Keys under this prefix per master ("host:port"). */
  keysPerNode(): Promise<Map<string, number>>;
  /** Deletes every key under this prefix; returns how many. */
  purge(): Promise<number>;
  /** Resolves once background compactions are done (benchmarks that want a settled state). */
  settleCompactions(): Promise<void>;
  /** Merges one bucket list into one element now, as compaction does (benchmarks that set up a steady state's lists). */
  compact(key: string): Promise<boolean>;
}

export interface State<S, P, Q = unknown> {
  readonly keys: KeyLayout;
  batches: BatchStore;
  windows: WindowStore<S, P, Q>;
  joins: JoinStore;
  pairs: PairStore;
  comparisons: ComparisonStore;
  evaluation: EvaluationStore;
  baselines: BaselineStore;
  health: StateHealth;
  admin: StateAdmin;
  close(): Promise<void>;
}

/**
 * The state front: one connection (a single Redis or a Redis Cluster, by `cluster_nodes`) and the
 * stores a worker, a command or a test needs. Nothing outside src/state touches the Redis client.
 */
export function openState<S, P, Q>(spec: StateSpec, codecs: StateCodecs<S, P, Q>, options: StateOptions): State<S, P, Q> {
  const connection = connect(spec, options.maxRetriesPerRequest === undefined ? {} : { maxRetriesPerRequest: options.maxRetriesPerRequest });
  const { client, cluster } = connection;
  const keys = new KeyLayout(spec.key_prefix);
  const { recent, fine, coarse } = spec.retention;
  const compactor = new Compactor(client, codecs as StateCodecs<unknown, unknown, unknown>, options.onCompactionError ?? (() => undefined));
  const joins = new JoinStore(client, keys, cluster, { ttlMs: spec.label_join_ttl, maxFutureMs: options.maxFutureMs });
  const resolutions = {
    ...(recent ? { recent: { bucketMs: recent.bucket, keepMs: recent.keep } } : {}),
    fine: { bucketMs: fine.bucket, keepMs: fine.keep },
    coarse: { bucketMs: coarse.bucket, keepMs: coarse.keep },
  };
  const batches = new BatchStore(client, keys, cluster, joins, compactor, {
    ...resolutions,
    maxFeaturesPerModel: spec.caps.features_per_model,
    maxModels: spec.caps.models,
    compactAt: options.compactAt ?? 16,
  });
  const listeners: ((up: boolean, error?: Error) => void)[] = [];
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) for (const listener of listeners) listener(false, error);
    down = true;
  });
  client.on('ready', () => {
    if (down) for (const listener of listeners) listener(true);
    down = false;
  });
  return {
    keys,
    batches,
    windows: new WindowStore(client, keys, codecs, resolutions),
    joins,
    pairs: new PairStore(client, keys, cluster, options.pairTtlMs ?? 600_000),
    comparisons: new ComparisonStore(client, keys),
    evaluation: new EvaluationStore(client, keys),
    baselines: new BaselineStore(client, keys),
    health: {
      address: connection.address,
      cluster,
      ready: () => client.status === 'ready',
      onChange: (listener) => void listeners.push(listener),
      ping: async () => {
        await client.ping();
      },
      checkEvictionPolicy: async () => {
        for (const { name, node } of masters(client, cluster)) {
          const info = await node.info('memory');
          const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
          if (policy !== undefined && policy !== 'noeviction') {
            throw new DriftwatchError(
              'DW_ERR_CONFIG',
              `Redis ${cluster ? name : connection.address} has maxmemory-policy ${policy}: it may evict driftwatch state (offset watermarks, summaries) and counts would go wrong silently; set maxmemory-policy noeviction`,
            );
          }
        }
      },
      generation: async () => {
        const key = keys.generation();
        const fresh = randomUUID();
        const created = (await client.set(key, fresh, 'NX')) === 'OK';
        return { id: created ? fresh : ((await client.get(key)) ?? fresh), created };
      },
    },
    admin: {
      keysPerNode: () => keysPerNode(client, cluster, keys),
      purge: () => purge(client, cluster, keys),
      settleCompactions: () => compactor.settle(),
      compact: (key) => compactor.compact(key),
    },
    async close() {
      await compactor.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** The masters to scan: every master of a cluster, or the one node. */
function masters(client: RedisClient, cluster: boolean): { name: string; node: RedisClient }[] {
  if (!cluster) return [{ name: 'single', node: client }];
  return (client as Cluster).nodes('master').map((node) => ({ name: `${node.options.host}:${node.options.port}`, node }));
}

async function scanKeys(node: RedisClient, keys: KeyLayout, onKeys: (found: string[]) => Promise<void>): Promise<void> {
  for (const pattern of keys.patterns()) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 10_000);
      if (found.length > 0) await onKeys(found);
      cursor = next;
    } while (cursor !== '0');
  }
}

async function keysPerNode(client: RedisClient, cluster: boolean, keys: KeyLayout): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const { name, node } of masters(client, cluster)) {
    let count = 0;
    await scanKeys(node, keys, async (found) => void (count += found.length));
    counts.set(name, count);
  }
  return counts;
}

async function purge(client: RedisClient, cluster: boolean, keys: KeyLayout): Promise<number> {
  let deleted = 0;
  for (const { node } of masters(client, cluster)) {
    // One key per UNLINK: keys of different slots in one command are refused on a cluster node.
    await scanKeys(node, keys, async (found) => {
      const counts = await Promise.all(found.map((key) => node.unlink(key)));
      deleted += counts.reduce((sum, n) => sum + n, 0);
    });
  }
  return deleted;
}
