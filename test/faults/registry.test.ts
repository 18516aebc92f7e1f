import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { runFault } from './fault-run.ts';

describe('schema registry down with traffic flowing', () => {
  it('60 s without the registry while a writer schema the worker never saw arrives: waited for, nothing dead-lettered for it', async () => {
    const report = await runFault(
      'registry-down-60s',
      async (scenario) => {
        await scenario.registryProxy.stop();
        await sleep(60_000);
        await scenario.registryProxy.start();
      },
      // The producer switches to a new schema version just after the registry goes away.
      { newSchemaAtMs: 15_000 },
    );
    expect(report.metrics['driftwatch_ingest_failures_total']).toBeGreaterThan(0);
  });
});
