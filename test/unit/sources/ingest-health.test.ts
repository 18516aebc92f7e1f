import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DriftwatchError } from '../../../src/errors.ts';
import { failureReason, IngestHealth } from '../../../src/sources/kafka/ingest-health.ts';
import type { Logger } from '../../../src/telemetry/logger.ts';

function fakeLogger() {
  const lines: { level: string; msg: string }[] = [];
  const log = (level: string) => (_fields: unknown, msg: string) => void lines.push({ level, msg });
  return { lines, logger: { warn: log('warn'), info: log('info'), error: log('error') } as unknown as Logger };
}

describe('IngestHealth', () => {
  it('logs one line when partitions stall (or the reason changes) and one when the last recovers, counting every failed try', async () => {
    const registry = new Registry();
    const failures = new Counter({ name: 'f', help: 'f', labelNames: ['reason'] as const, registers: [registry] });
    const stalledPartitions = new Gauge({ name: 'g', help: 'g', registers: [registry] });
    const { lines, logger } = fakeLogger();
    let now = 1000;
    const health = new IngestHealth(logger, { failures, stalledPartitions }, () => now);
    const oom = Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), { name: 'ReplyError' });
    for (let i = 0; i < 5; i++) health.failed('t/0', oom);
    health.failed('t/1', oom);
    expect(health.stalledNow).toBe(true);
    expect((await stalledPartitions.get()).values[0]!.value).toBe(2);
    health.failed('t/0', new Error('Command timed out'));
    health.succeeded('t/0');
    now = 31_000;
    health.succeeded('t/1');
    health.succeeded('t/1');
    expect(health.stalledNow).toBe(false);
    expect(lines.map((line) => line.msg)).toEqual([
      'ingest stalled (redis_out_of_memory): batches are retried with backoff; nothing is skipped or dead-lettered twice',
      'ingest stalled (redis_timeout): batches are retried with backoff; nothing is skipped or dead-lettered twice',
      'ingest recovered after 30.0 s (redis_timeout)',
    ]);
    expect((await failures.get()).values.map((v) => [v.labels['reason'], v.value])).toEqual([
      ['redis_out_of_memory', 6],
      ['redis_timeout', 1],
    ]);
  });

  it('names the reasons an operator acts on', () => {
    expect(failureReason(new DriftwatchError('DW_ERR_REGISTRY', 'schema registry unreachable'))).toBe('registry');
    expect(failureReason(new Error('Connection is closed.'))).toBe('redis_unavailable');
    expect(failureReason(Object.assign(new Error('ERR something'), { name: 'ReplyError' }))).toBe('redis_error');
    expect(failureReason(Object.assign(new Error('broker'), { name: 'KafkaJSConnectionError' }))).toBe('kafka');
    expect(failureReason(new TypeError('x is undefined'))).toBe('other');
  });
});
