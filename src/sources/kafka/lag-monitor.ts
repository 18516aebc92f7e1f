import type { Admin } from 'kafkajs';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';

/**
 * Consumer lag read from the broker on a timer: per partition this worker owns, the log end minus the
 * group's committed offset. Read this way it rises while the worker is stalled (a batch stuck on Redis,
 * a long GC), where a value set after each batch froze. Series of partitions that moved to another
 * worker are removed, so `sum by (topic)` over the fleet counts each partition once.
 */
export class LagMonitor {
  private owned: { topic: string; partition: number }[] = [];
  private readonly exported = new Map<string, { topic: string; partition: string }>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private failing = false;

  constructor(
    private readonly admin: Admin,
    private readonly groupId: string,
    private readonly metrics: Pick<IngestMetrics, 'consumerLag'>,
    private readonly logger: Logger,
    private readonly intervalMs = 5000,
  ) {}

  assign(partitions: readonly { topic: string; partition: number }[]): void {
    this.owned = [...partitions];
    const keep = new Set(partitions.map(({ topic, partition }) => `${topic}/${partition}`));
    for (const [name, labels] of this.exported) {
      if (keep.has(name)) continue;
      this.metrics.consumerLag.remove(labels);
      this.exported.delete(name);
    }
    void this.refresh();
  }

  start(): void {
    this.timer = setInterval(() => void this.refresh(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.assign([]);
  }

  /** False while the broker does not answer the lag reads (the worker cannot be consuming either). */
  brokerReachable(): boolean {
    return !this.failing;
  }

  async refresh(): Promise<void> {
    if (this.running || this.owned.length === 0) return;
    this.running = true;
    try {
      const topics = [...new Set(this.owned.map(({ topic }) => topic))];
      const [ends, committed] = await Promise.all([
        Promise.all(topics.map(async (topic) => [topic, await this.admin.fetchTopicOffsets(topic)] as const)),
        this.admin.fetchOffsets({ groupId: this.groupId, topics }),
      ]);
      const endOf = new Map<string, { high: string; low: string }>(ends.flatMap(([topic, list]) => list.map((entry) => [`${topic}/${entry.partition}`, entry] as const)));
      const committedOf = new Map<string, number>(committed.flatMap(({ topic, partitions }) => partitions.map(({ partition, offset }) => [`${topic}/${partition}`, Number(offset)] as const)));
      for (const { topic, partition } of this.owned) {
        const name = `${topic}/${partition}`;
        const end = endOf.get(name);
        if (!end) continue;
        const done = committedOf.get(name) ?? -1;
        const labels = { topic, partition: String(partition) };
        this.metrics.consumerLag.set(labels, Math.max(0, Number(end.high) - (done >= 0 ? done : Number(end.low))));
        this.exported.set(name, labels);
      }
      if (this.failing) this.logger.info('consumer lag readable from the broker again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) this.logger.warn({ err: errorMessage(error) }, 'cannot read consumer lag from the broker; the lag gauge keeps its last values');
      this.failing = true;
    } finally {
      this.running = false;
    }
  }
}
