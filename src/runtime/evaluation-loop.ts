import { setTimeout as sleep } from 'node:timers/promises';
import type { Topology } from '../config/topology.ts';
import type { AlertEvent } from '../evaluate/alert-event.ts';
import { evaluateModel, type EvaluationResult } from '../evaluate/model-evaluation.ts';
import { errorMessage } from '../errors.ts';
import type { AlertSink } from '../sinks/alerts.ts';
import type { EvaluationStore } from '../state/evaluation-store.ts';
import type { ModelEntry, RedisStateStore } from '../state/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { EvaluationMetrics } from '../telemetry/metrics.ts';
import { ModelReader } from './model-reader.ts';

export interface EvaluationLoopDeps {
  topology: Topology;
  workerId: string;
  store: RedisStateStore;
  evaluations: EvaluationStore;
  alerts: AlertSink;
  metrics: EvaluationMetrics;
  logger: Logger;
  clock: () => number;
  /** Sees each model's result as it is evaluated (benchmarks read them; the loop keeps none). */
  onEvaluated?: (entry: ModelEntry, result: EvaluationResult) => void;
}

/** An outbox entry left this long was written by a worker that died before publishing it. */
const ORPHAN_AFTER_MS = 30_000;

interface OutboxEntry {
  queued_at: number;
  event: AlertEvent;
}

/**
 * Every tick: heartbeat, claim this worker's fair share of model leases, evaluate those models, write
 * alert state changes with their events (fenced by the lease), publish the events to Kafka, and
 * publish any events a dead worker left in the outbox. Exactly one worker evaluates a model at a time.
 */
export class EvaluationLoop {
  private readonly reader: ModelReader;
  private held: string[] = [];
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(private readonly deps: EvaluationLoopDeps) {
    this.reader = new ModelReader(deps.store, deps.evaluations, deps.topology, { cacheReferences: true });
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.deps.evaluations.leaveWorkers(this.deps.workerId, this.held).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    const { tick } = this.deps.topology.evaluation;
    // Ticks after the first fall on the clock's multiples of the tick, plus a moment for the last events
    // of the bucket that just closed to be written: a 10-second window then reads whole 10-second buckets
    // (10–11 s of traffic) instead of up to 20 s when the phase is unlucky, which is what a change needs
    // to show within one tick (docs/detection.md).
    const lag = Math.min(1000, Math.floor(tick / 5));
    while (!this.stopped) {
      const started = this.deps.clock();
      try {
        await this.tick(started);
      } catch (error) {
        this.deps.logger.error({ err: error }, `evaluation tick failed: ${errorMessage(error)}; retrying next tick`);
      }
      const now = this.deps.clock();
      const wait = Math.floor((now - lag) / tick + 1) * tick + lag - now;
      // Sleep in short steps so that stop() is prompt.
      for (let waited = 0; waited < wait && !this.stopped; waited += 200) await sleep(Math.min(200, wait - waited));
    }
  }

  /** One evaluation round; public so tests and benchmarks can drive it with their own clock. */
  async tick(now: number): Promise<void> {
    const { topology, workerId, store, evaluations, metrics } = this.deps;
    const stopTimer = metrics.tickDuration.startTimer();
    const workers = await evaluations.heartbeat(workerId, now, topology.evaluation.lease);
    const models = await store.models();
    const share = Math.ceil(models.length / workers);
    this.held = await evaluations.claimLeases(workerId, models.map((model) => model.key), topology.evaluation.lease, share);
    const held = new Set(this.held);
    this.reader.retain(held);
    metrics.retain(held);
    metrics.modelsEvaluated.set(this.held.length);

    for (const entry of models) {
      if (!held.has(entry.key)) continue;
      await this.evaluate(entry, now);
    }
    await this.publishOrphans(now);
    stopTimer();
  }

  private async evaluate(entry: ModelEntry, now: number): Promise<void> {
    const { evaluations, workerId, metrics } = this.deps;
    const input = await this.reader.input(entry, now);
    const result = evaluateModel(input);
    // The reference stays cached until the next tick: settled, it holds the same memory however full
    // its digests get, without the CDF knots of this tick's statistics (they doubled the cache).
    input.reference?.settle();
    this.deps.onEvaluated?.(entry, result);
    metrics.record(entry, result);

    const events = result.changes.flatMap((change) => (change.event ? [change.event] : []));
    const serialized = new Map(events.map((event) => [event, JSON.stringify({ queued_at: now, event } satisfies OutboxEntry)]));
    const written = await evaluations.writeAlertChanges(
      workerId,
      entry.key,
      result.changes.map((change) => ({ field: change.field, state: change.state, event: change.event ? serialized.get(change.event)! : null })),
    );
    if (!written) {
      this.deps.logger.warn({ model: entry.key }, 'lost the evaluation lease mid-tick; another worker evaluates this model now');
      return;
    }
    for (const event of events) await this.publish(event, serialized.get(event)!, now);
  }

  private async publish(event: AlertEvent, entry: string, now: number): Promise<void> {
    await this.deps.alerts.publish([event]);
    await this.deps.evaluations.ackOutbox(entry, `${event.id}:${event.state}`, now);
    this.deps.metrics.alertEvents.inc({ state: event.state, severity: event.severity });
    this.deps.logger.info({ alert: event.id, state: event.state, rule: event.rule }, event.summary);
  }

  /** Events a dead worker wrote with their state but never published: publish them once. */
  private async publishOrphans(now: number): Promise<void> {
    const outbox = await this.deps.evaluations.outbox();
    if (outbox.length === 0) return;
    // One worker at a time recovers the outbox, or two could publish the same orphan.
    if (!(await this.deps.evaluations.claimOutbox(this.deps.workerId, this.deps.topology.evaluation.lease))) return;
    for (const raw of outbox) {
      const entry = JSON.parse(raw) as OutboxEntry;
      if (now - entry.queued_at < ORPHAN_AFTER_MS) continue;
      if (await this.deps.evaluations.isPublished(`${entry.event.id}:${entry.event.state}`)) {
        await this.deps.evaluations.dropOutboxEntry(raw);
        continue;
      }
      this.deps.logger.warn({ alert: entry.event.id, state: entry.event.state }, 'publishing an alert event a stopped worker left behind');
      await this.publish(entry.event, raw, now);
    }
  }
}
