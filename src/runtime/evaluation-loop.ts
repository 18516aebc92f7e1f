import { setTimeout as sleep } from 'node:timers/promises';
import type { Topology } from '../config/topology.ts';
import { alertEventId, type AlertEvent } from '../evaluate/alert-event.ts';
import { evaluateModel, type EvaluationResult } from '../evaluate/model-evaluation.ts';
import { errorMessage } from '../errors.ts';
import type { AlertSink } from '../sinks/alerts.ts';
import type { ModelEntry } from '../state/index.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { EvaluationMetrics } from '../telemetry/metrics.ts';
import type { ComparisonRunner } from './comparison-runner.ts';
import { ModelReader } from './model-reader.ts';
import type { SummaryState } from './state.ts';

export interface EvaluationLoopDeps {
  topology: Topology;
  workerId: string;
  state: Pick<SummaryState, 'windows' | 'evaluation' | 'baselines'>;
  alerts: AlertSink;
  metrics: EvaluationMetrics;
  logger: Logger;
  clock: () => number;
  /** Sees each model's result as it is evaluated (benchmarks read them; the loop keeps none). */
  onEvaluated?: (entry: ModelEntry, result: EvaluationResult) => void;
  /** Shadow/canary comparisons of the candidates this worker holds (absent: comparisons off). */
  comparisons?: ComparisonRunner;
}

/** An outbox entry left this long (by Redis's clock) was written by a worker that died before publishing it. */
const ORPHAN_AFTER_MS = 30_000;

interface OutboxEntry {
  /** The writer's clock, for people reading the outbox; orphans are judged on Redis's (the entry's prefix). */
  queued_at: number;
  event: AlertEvent;
}

/** An outbox entry as stored: "<Redis ms>|<json>" (older entries: the JSON alone). */
function parseOutboxEntry(stored: string): OutboxEntry {
  const entry = JSON.parse(stored.slice(stored.indexOf('|') + 1)) as OutboxEntry;
  // Written before event ids existed: the id is derived, so every publisher gives the same one.
  if (!entry.event.event_id) entry.event.event_id = alertEventId(entry.event.id, entry.event.state);
  return entry;
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
  /** Ticks wait for this (the state is being rebuilt, alert states restored from the alerts topic). */
  private gate: Promise<unknown> = Promise.resolve();
  private failingSince: number | undefined;

  constructor(private readonly deps: EvaluationLoopDeps) {
    this.reader = new ModelReader(deps.state, deps.topology, { cacheReferences: true });
  }

  start(): void {
    this.running = this.loop();
  }

  /** No tick starts before `until` settles (a tick in progress finishes). */
  holdUntil(until: Promise<unknown>): void {
    const previous = this.gate;
    this.gate = Promise.allSettled([previous, until]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.deps.state.evaluation.leaveWorkers(this.deps.workerId, this.held).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    const { tick } = this.deps.topology.evaluation;
    // Ticks after the first fall on the clock's multiples of the tick, plus a moment for the last events
    // of the bucket that just closed to be written: a 10-second window then reads whole 10-second buckets
    // (10–11 s of traffic) instead of up to 20 s when the phase is unlucky, which is what a change needs
    // to show within one tick (docs/detection.md).
    const lag = Math.min(1000, Math.floor(tick / 5));
    while (!this.stopped) {
      await this.gate;
      const started = this.deps.clock();
      try {
        await this.tick(started);
        if (this.failingSince !== undefined) this.deps.logger.info({ failed_ms: started - this.failingSince }, 'evaluation ticks succeed again');
        this.failingSince = undefined;
      } catch (error) {
        // One line when ticks start failing (Redis full, paused, gone), one when they succeed again.
        if (this.failingSince === undefined) this.deps.logger.error({ err: errorMessage(error) }, `evaluation tick failed: ${errorMessage(error)}; retrying every tick`);
        this.failingSince ??= started;
      }
      const now = this.deps.clock();
      const wait = Math.floor((now - lag) / tick + 1) * tick + lag - now;
      // Sleep in short steps so that stop() is prompt.
      for (let waited = 0; waited < wait && !this.stopped; waited += 200) await sleep(Math.min(200, wait - waited));
    }
  }

  /** One evaluation round; public so tests and benchmarks can drive it with their own clock. */
  async tick(now: number): Promise<void> {
    const { topology, workerId, state, metrics } = this.deps;
    const stopTimer = metrics.tickDuration.startTimer();
    const workers = await state.evaluation.heartbeat(workerId, now, topology.evaluation.lease);
    const models = await this.modelsWithRoles();
    const share = Math.ceil(models.length / workers);
    this.held = await state.evaluation.claimLeases(workerId, models.map((model) => model.key), topology.evaluation.lease, share);
    const held = new Set(this.held);
    this.reader.retain(held);
    metrics.retain(held);
    metrics.modelsEvaluated.set(this.held.length);

    for (const entry of models) {
      if (!held.has(entry.key)) continue;
      await this.evaluate(entry, now);
    }
    await this.deps.comparisons?.tick(models, held, now);
    stopTimer();
  }

  /** The registered models with their roles now (a canary promoted to primary is a primary from its next event on). */
  private async modelsWithRoles(): Promise<ModelEntry[]> {
    const { windows } = this.deps.state;
    const models = await windows.models();
    const roles = await windows.roles(models.map((model) => model.key));
    return models.map((model) => {
      const role = roles.get(model.key);
      return role === undefined || role === model.role ? model : { ...model, role };
    });
  }

  private async evaluate(entry: ModelEntry, now: number): Promise<void> {
    const { workerId, metrics } = this.deps;
    const evaluations = this.deps.state.evaluation;
    const [input, orphans] = await Promise.all([this.reader.input(entry, now), evaluations.orphans(workerId, entry.key, ORPHAN_AFTER_MS)]);
    // Events a previous evaluator of this model queued with their state and never published.
    if (orphans.length > 0) await this.publishOrphans(entry.key, orphans, now);
    const result = evaluateModel(input);
    // The reference stays cached until the next tick: settled, it holds the same memory however full
    // its digests get, without the CDF knots of this tick's statistics (they doubled the cache).
    input.reference?.settle();
    this.deps.onEvaluated?.(entry, result);
    metrics.record(entry, result);

    const events = result.changes.flatMap((change) => (change.event ? [change.event] : []));
    const written = await evaluations.writeAlertChanges(
      workerId,
      entry.key,
      result.changes.map((change) => ({ field: change.field, state: change.state, event: change.event ? JSON.stringify({ queued_at: now, event: change.event } satisfies OutboxEntry) : null })),
    );
    if (!written) {
      this.deps.logger.warn({ model: entry.key }, 'lost the evaluation lease mid-tick; another worker evaluates this model now');
      return;
    }
    for (const [i, event] of events.entries()) await this.publish(entry.key, event, written[i]!, now);
  }

  /**
   * Publishes, then acknowledges in the outbox. The model's lease is kept while the publish waits (a
   * stalled broker can hold it for minutes): no other worker takes the model and publishes the same
   * event meanwhile. Copies can still reach the topic (this worker dies after the broker took the event
   * and before the acknowledgement); they carry the same event_id.
   */
  private async publish(model: string, event: AlertEvent, entry: string, now: number): Promise<void> {
    const { topology, workerId, state } = this.deps;
    const keeper = setInterval(() => {
      state.evaluation.renewLease(workerId, model, topology.evaluation.lease).catch(() => undefined);
    }, Math.max(1000, topology.evaluation.lease / 3));
    try {
      await this.deps.alerts.publish([event]);
    } finally {
      clearInterval(keeper);
    }
    await state.evaluation.ackOutbox(model, entry, event.event_id, now);
    this.deps.metrics.alertEvents.inc({ state: event.state, severity: event.severity });
    this.deps.logger.info({ alert: event.id, event_id: event.event_id, state: event.state, rule: event.rule }, event.summary);
  }

  /**
   * Events a stopped worker wrote with their state but never published: published once by the model's
   * evaluator (the lease holder), once ORPHAN_AFTER_MS old by Redis's clock (outbox-orphans.lua), so
   * that neither a slow publish in flight nor a skewed worker clock doubles them.
   */
  private async publishOrphans(model: string, orphans: readonly string[], now: number): Promise<void> {
    const evaluations = this.deps.state.evaluation;
    for (const stored of orphans) {
      const { event } = parseOutboxEntry(stored);
      if (await evaluations.isPublished(model, event.event_id)) {
        await evaluations.dropOutboxEntry(model, stored);
        continue;
      }
      this.deps.logger.warn({ alert: event.id, event_id: event.event_id, state: event.state }, 'publishing an alert event a stopped worker left behind');
      await this.publish(model, event, stored, now);
    }
  }
}
