import type { Admin, Consumer } from 'kafkajs';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';
import type { RecoveryHooks } from './batch-runner.ts';

export interface StateRecoveryDeps {
  admin: Admin;
  consumer: Pick<Consumer, 'seek'>;
  groupId: string;
  metrics: Pick<IngestMetrics, 'stateRegressions' | 'stateRebuilding'>;
  logger: Logger;
  clock: () => number;
  /** How far back the state's windows reach (the longest retention): a state rebuilt from nothing replays that much. */
  retainedMs: number;
  /** The state lost writes: forget what the worker cached about it (registries, journal positions). */
  onRegression(topic: string, partition: number): Promise<void>;
}

/**
 * Redis is a cache of Kafka: when a partition's state is found behind what the group committed (Redis
 * restarted from an older append-only file, came back empty, or was replaced), the partition is
 * replayed from Kafka — from the state's watermark, or from the start of the retained windows when
 * nothing is left — until it is back where it was. Meanwhile the worker is not ready (/readyz 503),
 * `driftwatch_state_regressions_total{kind}` counts the regression and
 * `driftwatch_state_rebuilding_partitions` the replays in progress; one log line when a replay starts
 * and one when the last ends. The batch runner finds the regressions (batch-runner.ts: a batch fetched
 * past the watermark, or a write refused by a lower one); this does the Kafka side.
 */
export class StateRecovery implements RecoveryHooks {
  /** Committed offsets of the partitions assigned at the last rebalance ('-1' none), loading. */
  private committed: Promise<Map<string, number>> = Promise.resolve(new Map());
  private readonly rebuilding = new Map<string, { through: number; since: number }>();
  private rebuildStarted: number | undefined;

  constructor(private readonly deps: StateRecoveryDeps) {}

  /** The partitions this worker owns now: their committed offsets are read once (they tell a new partition from a lost one). */
  assign(partitions: readonly { topic: string; partition: number }[]): void {
    const owned = new Set(partitions.map(({ topic, partition }) => `${topic}/${partition}`));
    for (const name of this.rebuilding.keys()) if (!owned.has(name)) this.rebuilding.delete(name);
    this.deps.metrics.stateRebuilding.set(this.rebuilding.size);
    const topics = [...new Set(partitions.map(({ topic }) => topic))];
    this.committed = this.deps.admin
      .fetchOffsets({ groupId: this.deps.groupId, topics })
      .then((offsets) => new Map(offsets.flatMap(({ topic, partitions: list }) => list.map(({ partition, offset }) => [`${topic}/${partition}`, Number(offset)] as const))))
      .catch((error: unknown) => {
        this.deps.logger.warn({ err: errorMessage(error) }, 'could not read the group’s committed offsets; partitions without state are taken as new');
        return new Map<string, number>();
      });
  }

  ready(): boolean {
    return this.rebuilding.size === 0;
  }

  async hadCommit(topic: string, partition: number): Promise<boolean> {
    return ((await this.committed).get(`${topic}/${partition}`) ?? -1) >= 0;
  }

  async regressed(topic: string, partition: number, { kind, stored, through }: { kind: 'behind' | 'missing'; stored: number; through: number }): Promise<number> {
    const name = `${topic}/${partition}`;
    const now = this.deps.clock();
    const from = stored >= 0 ? stored + 1 : await this.retainedStart(topic, partition, now);
    await this.deps.onRegression(topic, partition);
    this.deps.consumer.seek({ topic, partition, offset: String(from) });
    this.deps.metrics.stateRegressions.inc({ kind });
    if (this.rebuilding.size === 0) this.rebuildStarted = now;
    this.rebuilding.set(name, { through, since: now });
    this.deps.metrics.stateRebuilding.set(this.rebuilding.size);
    this.deps.logger.warn(
      { partition: name, kind, watermark: stored, processed_through: through, replay_from: from },
      `state of ${name} is behind Kafka (${kind === 'missing' ? 'no watermark' : `watermark ${stored}`}, processed through ${through}): replaying from offset ${from}; not ready until it is rebuilt`,
    );
    return from;
  }

  applied(topic: string, partition: number, offset: number): void {
    const name = `${topic}/${partition}`;
    const replay = this.rebuilding.get(name);
    if (!replay || offset < replay.through) return;
    this.rebuilding.delete(name);
    this.deps.metrics.stateRebuilding.set(this.rebuilding.size);
    if (this.rebuilding.size > 0 || this.rebuildStarted === undefined) return;
    const tookMs = this.deps.clock() - this.rebuildStarted;
    this.deps.logger.info({ rebuilt_ms: tookMs }, `state rebuilt from Kafka in ${(tookMs / 1000).toFixed(1)} s; ready`);
    this.rebuildStarted = undefined;
  }

  /** The first offset of the retained windows (offsets by timestamp), or the partition's start. */
  private async retainedStart(topic: string, partition: number, now: number): Promise<number> {
    const byTime = await this.deps.admin.fetchTopicOffsetsByTimestamp(topic, now - this.deps.retainedMs);
    const offset = byTime.find((entry) => entry.partition === partition)?.offset;
    return offset === undefined ? 0 : Math.max(0, Number(offset));
  }
}
