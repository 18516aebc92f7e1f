import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { faultRedis } from '../kit/faults.ts';
import { runFault } from './fault-run.ts';

describe('Redis stalls with traffic flowing: counts exact, dead letters once, alerts once per event id', () => {
  it('CLIENT PAUSE 60 s: batches time out, are retried with heartbeats, and nothing is lost', async () => {
    const report = await runFault('redis-pause-60s', async () => {
      const redis = faultRedis();
      await redis.call('CLIENT', 'PAUSE', '60000', 'ALL');
      await sleep(60_000);
      await redis.quit();
    });
    expect(report.metrics['driftwatch_ingest_failures_total']).toBeGreaterThan(0);
  });

  it('out of memory for 2 minutes: writes back off, dead letters are not repeated', async () => {
    const redis = faultRedis();
    const report = await runFault('redis-oom-120s', async () => {
      await redis.config('SET', 'maxmemory', '1');
      await sleep(120_000);
      await redis.config('SET', 'maxmemory', '1gb');
    });
    await redis.quit();
    expect(report.metrics['driftwatch_ingest_failures_total']).toBeGreaterThan(0);
    expect(report.log.filter((line) => line.includes('ingest stalled (redis_out_of_memory)')).length).toBe(1);
  });
});
