import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { ReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { classify, describeConnectionError } from '../../../src/cli/connection-errors.ts';
import { DriftwatchError } from '../../../src/errors.ts';

const endpoints = { redis: 'redis://app:s3cret@redis.internal:6380/0', kafka: ['kafka-1:9092', 'kafka-2:9092'], registry: 'https://user:key@registry.internal/apis/ccompat/v7' };

/** An error shaped as ioredis's MaxRetriesPerRequestError (its class is not exported). */
const maxRetries = Object.assign(new Error('Reached the max retries per request limit (which is 2). Refer to "maxRetriesPerRequest" option for details.'), { name: 'MaxRetriesPerRequestError' });
const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED', syscall: 'connect' });

describe('connection errors', () => {
  it('Redis: one line with the redacted address, the socket error ioredis gave up on, and DW_ERR_STATE', () => {
    const error = describeConnectionError(maxRetries, endpoints, refused('10.0.0.5:6380'));
    expect(error).toBeInstanceOf(DriftwatchError);
    expect(error).toMatchObject({
      code: 'DW_ERR_STATE',
      message: 'Redis at redis://app:***@redis.internal:6380/0 is unreachable: connect ECONNREFUSED 10.0.0.5:6380 (state.redis_url in the topology)',
    });
    expect(String((error as Error).message)).not.toContain('s3cret');
    expect(describeConnectionError(new ReplyError('WRONGPASS invalid username-password pair or user is disabled.'), endpoints)).toMatchObject({
      code: 'DW_ERR_STATE',
      message: 'Redis at redis://app:***@redis.internal:6380/0 refused the request: WRONGPASS invalid username-password pair or user is disabled. (state.redis_url in the topology)',
    });
  });

  it('Kafka: the innermost socket error, every broker, DW_ERR_KAFKA', () => {
    const socket = new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092', { broker: 'kafka-1:9092', code: 'ECONNREFUSED' } as never);
    const retries = new KafkaJSNumberOfRetriesExceeded(socket, { retryCount: 5, retryTime: 100 });
    expect(describeConnectionError(retries, endpoints)).toMatchObject({
      code: 'DW_ERR_KAFKA',
      message: 'Kafka at kafka-1:9092,kafka-2:9092 is unreachable: connect ECONNREFUSED 127.0.0.1:9092 (sources.brokers in the topology)',
    });
    expect(classify(new KafkaJSProtocolError('This server does not host this topic-partition'))).toMatchObject({ service: 'kafka', unreachable: false });
  });

  it('registry: the client library and fetch shapes, DW_ERR_REGISTRY, credentials redacted', () => {
    const library = Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 127.0.0.1:8081'), { name: 'ResponseError' });
    expect(describeConnectionError(library, endpoints)).toMatchObject({
      code: 'DW_ERR_REGISTRY',
      message: 'the schema registry at https://user:***@registry.internal/apis/ccompat/v7 is unreachable: connect ECONNREFUSED 127.0.0.1:8081 (sources.registry_url in the topology)',
    });
    const notFound = Object.assign(new Error("Confluent_Schema_Registry - No version 'latest' found for artifact with ID 'x-value'"), { name: 'ResponseError' });
    expect(describeConnectionError(notFound, endpoints)).toMatchObject({ code: 'DW_ERR_REGISTRY', message: expect.stringMatching(/refused the request: No version 'latest'/) });
    const fetchFailed = new TypeError('fetch failed', { cause: refused('127.0.0.1:8081') });
    expect(describeConnectionError(fetchFailed, {})).toMatchObject({ code: 'DW_ERR_REGISTRY', message: 'the schema registry is unreachable: connect ECONNREFUSED 127.0.0.1:8081' });
  });

  it('leaves other errors as they are', () => {
    const usage = new DriftwatchError('DW_ERR_USAGE', 'bad flag');
    expect(describeConnectionError(usage, endpoints)).toBe(usage);
    const bug = new RangeError('index out of range');
    expect(describeConnectionError(bug, endpoints)).toBe(bug);
    expect(describeConnectionError('a string', endpoints)).toBe('a string');
  });
});
