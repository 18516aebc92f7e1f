import { validateLabel, type Validated, type ValidationLimits } from '../../decode/index.ts';
import { claimable, itemOfPending, planLabels, type Claim, type LabelItem, type LabelPlan, type LabelPlanOptions } from '../../join/index.ts';
import type { ClaimFound, State } from '../../state/index.ts';
import type { IngestMetrics } from '../../telemetry/metrics.ts';
import { applyWrite, type ApplyResult, type BatchSource, type Positioned, type WriteContext } from './batch-runner.ts';

export interface LabelSourceDeps {
  state: Pick<State<unknown, unknown>, 'batches' | 'joins'>;
  metrics: IngestMetrics;
  limits: ValidationLimits;
  join: LabelPlanOptions;
}

/** Waiting labels retried per partition and round; the rest wait for the next one. */
const RETRY_PAGE = 5000;

const claimOf = (found: ClaimFound): Claim =>
  found.found === 'claimed' || found.found === 'mine' ? { kind: 'claimed', record: found.record, fresh: found.found === 'claimed' } : found.found === 'other' ? { kind: 'duplicate' } : { kind: 'missing' };

/**
 * Labels: each claims its prediction's join record (a duplicate finds it claimed), then the outcomes
 * are planned (join/plan-labels.ts, pure) and committed on the label partition with the performance
 * deltas, which the store then applies to each model (batch-store.ts: the journal). Labels that came
 * before their prediction wait in the partition's pending set and are retried by the partition's owner.
 */
export class LabelSource implements BatchSource<LabelItem, (Claim | undefined)[], LabelPlan> {
  readonly name = 'labels';
  /** Label partitions whose leftover journal entries this worker applied since it got them. */
  private readonly drained = new Set<string>();
  private assigned: { topic: string; partition: number }[] = [];

  constructor(private readonly deps: LabelSourceDeps) {}

  /** The label partitions this worker owns now (their waiting labels are its to retry). */
  assign(partitions: readonly { topic: string; partition: number }[]): void {
    this.assigned = [...partitions];
    this.drained.clear();
  }

  /** A partition whose state regressed: its journal is drained again before its next write. */
  forget(topic: string, partition: number): void {
    this.drained.delete(`${topic}/${partition}`);
  }

  validate(record: unknown, now: number, source: string): Validated<LabelItem> {
    const validated = validateLabel(record, now, this.deps.limits);
    return validated.ok ? { ok: true, event: { event: validated.event, source } } : validated;
  }

  async prepare(items: readonly Positioned<LabelItem>[], context: WriteContext): Promise<(Claim | undefined)[]> {
    const { batches, joins } = this.deps.state;
    const name = `${context.topic}/${context.partition}`;
    if (!this.drained.has(name)) {
      // Entries a crashed writer committed and did not apply reach their models before any new one.
      await batches.drainJournal(context.topic, context.partition);
      this.drained.add(name);
    }
    const claims: (Claim | undefined)[] = items.map(() => undefined);
    const wanted = items.flatMap(({ event }, i) => (claimable(event, this.deps.join.sampleRate) ? [i] : []));
    const found = await joins.claim(
      wanted.map((i) => ({ predictionId: items[i]!.event.event.prediction_id, source: items[i]!.event.source })),
      context.now,
    );
    wanted.forEach((i, j) => (claims[i] = claimOf(found[j]!)));
    return claims;
  }

  plan(items: readonly Positioned<LabelItem>[], claims: (Claim | undefined)[], context: WriteContext): LabelPlan {
    return planLabels(
      items.map(({ event }) => event),
      claims,
      context.now,
      this.deps.join,
    );
  }

  async apply(plan: LabelPlan, context: WriteContext): Promise<ApplyResult> {
    const result = await this.deps.state.batches.commitLabels({
      topic: context.topic,
      partition: context.partition,
      ...(context.range ? { range: context.range } : {}),
      expected: context.expected,
      outcomes: plan.outcomes,
      deadLetters: context.deadLetters,
      pendingAdded: plan.pendingAdded,
      pendingResolved: plan.pendingResolved,
      models: [...plan.models].map(([key, delta]) => ({
        key,
        labeled: delta.labeled,
        buckets: [...delta.buckets].map(([start, summary]) => ({ start, bytes: summary.encode() })),
      })),
    });
    // Another writer resolved one of these waiting labels meanwhile: claim and plan again.
    if (result.kind === 'conflict') return { kind: 'replan', reprepare: true };
    return result;
  }

  applied(plan: LabelPlan): void {
    for (const [outcome, n] of plan.outcomes) if (n > 0) this.deps.metrics.labels.inc({ outcome }, n);
  }

  /**
   * One round over the waiting labels of every label partition this worker owns (oldest first): those
   * whose prediction arrived are joined, those that waited `wait_for_prediction` in vain count as unknown.
   */
  async retryPending(now: number): Promise<{ resolved: number; waiting: number }> {
    const { joins } = this.deps.state;
    let resolved = 0;
    for (const { topic, partition } of this.assigned) {
      const entries = await joins.pending(topic, partition, RETRY_PAGE);
      if (entries.length === 0) continue;
      const items = entries.map(([member, arrivedAt]) => ({ offset: -1, event: itemOfPending(member, arrivedAt) }));
      const result = await applyWrite(this, items, { topic, partition, deadLetters: new Map(), now });
      if (result.kind === 'applied') resolved += items.length;
    }
    const waiting = await joins.pendingCount(this.assigned);
    this.deps.metrics.labelsPending.set(waiting);
    return { resolved, waiting };
  }
}
