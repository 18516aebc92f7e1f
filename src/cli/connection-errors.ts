import type { Topology } from '../config/topology.ts';
import { DriftwatchError, errorMessage, type ErrorCode } from '../errors.ts';
import { redactUrl } from '../telemetry/redact.ts';

/**
 * Connection failures of Redis, Kafka and the schema registry as the user sees them: one line naming
 * the service, its (redacted) address, the topology key that sets it and a DW_ERR_* code, instead of
 * the client libraries' own shapes ("[ioredis] Unhandled error event" stacks, "Reached the max retries
 * per request limit", "Confluent_Schema_Registry - Error, status 400").
 */
type Service = 'redis' | 'kafka' | 'registry';

const SERVICES: Record<Service, { name: string; code: ErrorCode; key: string }> = {
  redis: { name: 'Redis', code: 'DW_ERR_STATE', key: 'state.redis_url' },
  kafka: { name: 'Kafka', code: 'DW_ERR_KAFKA', key: 'sources.brokers' },
  registry: { name: 'the schema registry', code: 'DW_ERR_REGISTRY', key: 'sources.registry_url' },
};

/** Where each service is, as the topology says. */
export interface Endpoints {
  redis?: string;
  /** The topology key that sets the Redis address, when not state.redis_url (a cluster's nodes). */
  redisKey?: string;
  kafka?: readonly string[];
  registry?: string;
}

export function endpointsOf(topology: Topology): Endpoints {
  const { cluster_nodes: nodes } = topology.state;
  const redis = nodes ? { redis: `cluster ${nodes.join(',')}`, redisKey: 'state.cluster_nodes' } : { redis: topology.state.redis_url };
  return { ...redis, kafka: topology.sources.brokers, registry: topology.sources.registry_url };
}

/** Socket errors that mean "nobody answers there", as opposed to an answer we did not like. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

interface Failure {
  service: Service;
  reason: string;
  unreachable: boolean;
}

const causeOf = (error: unknown): unknown => (error instanceof Error ? (error.cause ?? (error as { originalError?: unknown }).originalError) : undefined);
const codeOf = (error: unknown): unknown => (typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined);

/** The innermost error message (kafkajs wraps the socket error twice, fetch once). */
function rootMessage(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 5 && causeOf(current) !== undefined; depth++) current = causeOf(current);
  return errorMessage(current).replace(/^Connection error: /, '');
}

function isUnreachable(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 6; current = causeOf(current), depth++) {
    const code = codeOf(current);
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
    const name = current instanceof Error ? current.name : '';
    if (['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'MaxRetriesPerRequestError'].includes(name)) return true;
  }
  return false;
}

/** Which service failed and why, told by the client library's error shape; undefined for anything else. */
export function classify(error: unknown, lastRedisError?: Error): Failure | undefined {
  if (!(error instanceof Error)) return undefined;
  const name = error.name;
  if (name === 'MaxRetriesPerRequestError') {
    // ioredis says only that it gave up; the socket error it gave up on came as an 'error' event.
    return { service: 'redis', reason: lastRedisError ? errorMessage(lastRedisError) : 'no answer', unreachable: true };
  }
  if (name === 'ReplyError' && /^(WRONGPASS|NOAUTH|NOPERM)\b/.test(error.message)) {
    return { service: 'redis', reason: error.message, unreachable: false };
  }
  if (name.startsWith('KafkaJS')) return { service: 'kafka', reason: rootMessage(error), unreachable: isUnreachable(error) };
  if (name === 'ResponseError' && error.message.startsWith('Confluent_Schema_Registry')) {
    const reason = error.message.replace(/^Confluent_Schema_Registry - (Error, )?/, '');
    // The client reports a socket error as "status 400: connect ECONNREFUSED …": no HTTP status came.
    const unreachable = [...UNREACHABLE].some((code) => reason.includes(code));
    return { service: 'registry', reason: unreachable ? reason.replace(/^status \d+: /, '') : reason, unreachable };
  }
  if (error instanceof TypeError && error.message === 'fetch failed') return { service: 'registry', reason: rootMessage(error), unreachable: true };
  return undefined;
}

function address(service: Service, endpoints: Endpoints): string | undefined {
  if (service === 'kafka') return endpoints.kafka?.map(redactUrl).join(',');
  const url = endpoints[service];
  return url === undefined ? undefined : redactUrl(url);
}

/** The one-line DriftwatchError for a connection failure; any other error is returned as it is. */
export function describeConnectionError(error: unknown, endpoints: Endpoints = {}, lastRedisError?: Error): unknown {
  if (error instanceof DriftwatchError) return error;
  const failure = classify(error, lastRedisError);
  if (!failure) return error;
  const service = SERVICES[failure.service];
  const where = address(failure.service, endpoints);
  const what = `${service.name}${where === undefined ? '' : ` at ${where}`}`;
  const key = failure.service === 'redis' ? (endpoints.redisKey ?? service.key) : service.key;
  const setBy = where === undefined ? '' : ` (${key} in the topology)`;
  const message = failure.unreachable ? `${what} is unreachable: ${failure.reason}${setBy}` : `${what} refused the request: ${failure.reason}${setBy}`;
  return new DriftwatchError(service.code, message, { cause: error, retriable: failure.unreachable });
}

/**
 * For a command that talks to the services once and ends: failures become one line (`run`), and a
 * state connection it `watch`es has its last socket error named in the message.
 */
export class ConnectionErrors {
  private lastRedisError: Error | undefined;

  constructor(private readonly endpoints: Endpoints) {}

  static of(topology: Topology): ConnectionErrors {
    return new ConnectionErrors(endpointsOf(topology));
  }

  /**
   * Remembers the state connection's socket errors for the message (open the state with
   * `maxRetriesPerRequest: 2` so that a command fails instead of waiting for Redis for ever).
   */
  watch(health: { onChange(listener: (up: boolean, error?: Error) => void): void }): void {
    health.onChange((up, error) => {
      if (!up && error) this.lastRedisError = error;
    });
  }

  describe(error: unknown): unknown {
    return describeConnectionError(error, this.endpoints, this.lastRedisError);
  }

  async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (error) {
      throw this.describe(error);
    }
  }
}
