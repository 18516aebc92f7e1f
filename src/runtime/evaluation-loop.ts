import { setTimeout as sleep } from 'node:timers/promises';
import type { Topology } from '../config/topology.ts';
import type { AlertEvent } from '../evaluate/alert-event.ts';
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
    this.reader = new ModelReader(deps.state, deps.topology, { cacheReferences: true });
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.deps.state.evaluation.leaveWorkers(this.deps.workerId, this.held).catch(() => undefined);
  }

  private async loop(): Promise<void> {
    const { tick } = this.deps.topology.evaluation;
    while (!this.stopped) {
      const started = this.deps.clock();
      try {
        await this.tick(started);
      } catch (error) {
        this.deps.logger.error({ err: error }, `evaluation tick failed: ${errorMessage(error)}; retrying next tick`);
      }
      const elapsed = this.deps.clock() - started;
      // Sleep in short steps so that stop() is prompt.
      for (let waited = 0; waited < tick - elapsed && !this.stopped; waited += 200) await sleep(Math.min(200, tick - elapsed - waited));
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
    const [input, outbox] = await Promise.all([this.reader.input(entry, now), evaluations.outbox(entry.key)]);
    // Events a previous evaluator of this model queued with their state and never published.
    if (outbox.length > 0) await this.publishOrphans(entry.key, outbox, now);
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
    for (const event of events) await this.publish(entry.key, event, serialized.get(event)!, now);
  }

  private async publish(model: string, event: AlertEvent, entry: string, now: number): Promise<void> {
    await this.deps.alerts.publish([event]);
    await this.deps.state.evaluation.ackOutbox(model, entry, `${event.id}:${event.state}`, now);
    this.deps.metrics.alertEvents.inc({ state: event.state, severity: event.severity });
    this.deps.logger.info({ alert: event.id, state: event.state, rule: event.rule }, event.summary);
  }

  /**
   * Events a stopped worker wrote with their state but never published: published once by the model's
   * evaluator (the lease holder), after ORPHAN_AFTER_MS so that a slow publish in flight is not doubled.
   */
  private async publishOrphans(model: string, outbox: readonly string[], now: number): Promise<void> {
    const evaluations = this.deps.state.evaluation;
    for (const raw of outbox) {
      const entry = JSON.parse(raw) as OutboxEntry;
      if (now - entry.queued_at < ORPHAN_AFTER_MS) continue;
      if (await evaluations.isPublished(model, `${entry.event.id}:${entry.event.state}`)) {
        await evaluations.dropOutboxEntry(model, raw);
        continue;
      }
      this.deps.logger.warn({ alert: entry.event.id, state: entry.event.state }, 'publishing an alert event a stopped worker left behind');
      await this.publish(model, entry.event, raw, now);
    }
  }
}
