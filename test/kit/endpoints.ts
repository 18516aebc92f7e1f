import { randomBytes } from 'node:crypto';
import { DEFAULT_ENDPOINTS } from '../../src/stack/index.ts';

/**
 * Where the local stack answers, for tests and benchmarks: the stack's own defaults (src/stack), with
 * environment overrides for a stack elsewhere. Defined once here.
 */
export const ENDPOINTS = {
  brokers: (process.env['DRIFTWATCH_BROKERS'] ?? DEFAULT_ENDPOINTS.kafkaBrokers.join(',')).split(','),
  redisUrl: process.env['DRIFTWATCH_REDIS_URL'] ?? DEFAULT_ENDPOINTS.redisUrl,
  redisClusterNodes: (process.env['DRIFTWATCH_REDIS_CLUSTER_NODES'] ?? DEFAULT_ENDPOINTS.redisClusterNodes.join(',')).split(','),
  registryUrl: process.env['DRIFTWATCH_REGISTRY_URL'] ?? DEFAULT_ENDPOINTS.registryUrl,
} as const;

/** The two deployments of the state: one Redis, or the 3-master Redis Cluster of `stack up --redis-cluster`. */
export type StateMode = 'single' | 'cluster';
export const STATE_MODES: readonly StateMode[] = ['single', 'cluster'];

/** The topology's `state` addresses for a mode. */
export function stateAddress(mode: StateMode): { redis_url: string } | { cluster_nodes: string[] } {
  return mode === 'cluster' ? { cluster_nodes: [...ENDPOINTS.redisClusterNodes] } : { redis_url: ENDPOINTS.redisUrl };
}

/** A random suffix: every test gets its own topics, group and key prefix. */
export const uniqueName = (prefix: string): string => `${prefix}-${randomBytes(4).toString('hex')}`;
