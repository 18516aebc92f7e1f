import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { restartRedisEmpty, restartRedisFromOlderFiles, restartServices, signalService } from '../kit/faults.ts';
import { runFault } from './fault-run.ts';

describe('Redis faults with traffic flowing: counts exact, dead letters once, alerts once per event id', () => {
  it('kill -9 of Redis, restarted from its append-only file', async () => {
    await runFault('redis-kill9-aof', async () => {
      signalService('redis', 'SIGKILL');
      await sleep(3000);
      await restartServices();
    });
  });

  it('Redis restarted from files 5 s older than what was committed: the partitions are replayed from their watermarks', async () => {
    // With labels: their join claims, journal and counters roll back too, and are replayed exactly once.
    const report = await runFault('redis-rollback-5s', () => restartRedisFromOlderFiles(5000), { faultAtMs: 12_000, labels: true });
    if (!(report.metrics['driftwatch_state_regressions_total']! >= 1)) throw new Error('the regression was not counted');
  });

  it('Redis restarted empty: the state is rebuilt from Kafka and the regression counted', async () => {
    const report = await runFault(
      'redis-empty',
      async () => {
        await sleep(1000);
        await restartRedisEmpty();
      },
      { labels: true },
    );
    if (!(report.metrics['driftwatch_state_regressions_total']! >= 1)) throw new Error('the regression was not counted');
  });
});
