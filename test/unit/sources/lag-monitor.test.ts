import type { Admin } from 'kafkajs';
import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LagMonitor } from '../../../src/sources/kafka/lag-monitor.ts';
import type { Logger } from '../../../src/telemetry/logger.ts';

const logger = { warn: () => undefined, info: () => undefined } as unknown as Logger;

describe('LagMonitor', () => {
  it('reads lag from the broker (log end − committed), keeps rising while nothing commits, and removes the series of partitions that moved', async () => {
    const registry = new Registry();
    const consumerLag = new Gauge({ name: 'lag', help: 'lag', labelNames: ['topic', 'partition'] as const, registers: [registry] });
    let high = 100;
    let reachable = true;
    const admin = {
      fetchTopicOffsets: async () => {
        if (!reachable) throw new Error('broker down');
        return [0, 1].map((partition) => ({ partition, offset: String(high), high: String(high), low: '0' }));
      },
      fetchOffsets: async () => [{ topic: 't', partitions: [{ partition: 0, offset: '40' }, { partition: 1, offset: '-1' }] }],
    } as unknown as Admin;
    const monitor = new LagMonitor(admin, 'g', { consumerLag }, logger, 60_000);
    const series = async () => Object.fromEntries((await consumerLag.get()).values.map((v) => [v.labels['partition'], v.value]));

    // assign() reads at once (in the background).
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    monitor.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    await settle();
    expect(await series()).toEqual({ '0': 60, '1': 100 });
    high = 250; // a stall: the log grows, nothing is committed
    await monitor.refresh();
    expect(await series()).toEqual({ '0': 210, '1': 250 });
    reachable = false;
    await monitor.refresh();
    expect(monitor.brokerReachable()).toBe(false);
    expect(await series()).toEqual({ '0': 210, '1': 250 });
    reachable = true;
    monitor.assign([{ topic: 't', partition: 1 }]);
    await settle();
    expect(monitor.brokerReachable()).toBe(true);
    expect(await series()).toEqual({ '1': 250 });
    monitor.stop();
    expect(await series()).toEqual({});
  });
});
