import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { restartServices, signalService } from '../kit/faults.ts';
import { runFault } from './fault-run.ts';

describe('broker faults with traffic flowing: counts exact, dead letters once, alerts once per event id', () => {
  it('kill -9 of the broker, restarted', async () => {
    await runFault('broker-kill9', async () => {
      signalService('kafka', 'SIGKILL');
      await sleep(2000);
      await restartServices();
    });
  });

  it('broker stopped (SIGSTOP) for 45 s mid-incident', async () => {
    await runFault('broker-sigstop-45s', async () => {
      signalService('kafka', 'SIGSTOP');
      await sleep(45_000);
      signalService('kafka', 'SIGCONT');
    });
  });
});
