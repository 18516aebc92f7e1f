import { PerformanceSummary } from '../aggregate/index.ts';
import type { LabelEvent } from '../events.ts';
import { decodeJoinRecord } from './record.ts';
import { inJoinSample } from './sample.ts';

/**
 * What became of a label. joined: scored against its prediction, once. duplicate: its prediction was
 * labeled already. pending: it came before its prediction and waits (counted when it starts waiting; it
 * is counted again when it resolves). unknown: no prediction came within `wait_for_prediction`.
 * expired: observed longer than `label_join_ttl` ago, so its prediction's join record is gone for sure.
 * not_sampled: its prediction is outside the join sample (a hash of the id; nothing was kept).
 */
export const LABEL_OUTCOMES = ['joined', 'duplicate', 'pending', 'unknown', 'expired', 'not_sampled'] as const;
export type LabelOutcome = (typeof LABEL_OUTCOMES)[number];

/** A label to resolve: fresh from a batch, or waiting (its member in the pending set and when it started to wait). */
export interface LabelItem {
  event: LabelEvent;
  /** The label's Kafka position, topic/partition/offset: it claims records under this name. */
  source: string;
  pending?: { member: string; arrivedAt: number };
}

/**
 * What claiming a label's prediction record found (claim-joins.lua): the record, now claimed by this
 * label (`fresh`: just now; else by an earlier attempt of the same label, which did not commit);
 * another label's claim (a duplicate); or no record (not there yet, or expired).
 */
export type Claim = { kind: 'claimed'; record: Buffer; fresh: boolean } | { kind: 'duplicate' } | { kind: 'missing' };

export interface LabelPlanOptions {
  sampleRate: number;
  /** Join records live this long (state.label_join_ttl). */
  ttlMs: number;
  /** A label waits this long for its prediction before it counts as unknown. */
  waitMs: number;
  maxClasses: number;
  /** Fine bucket width: performance is kept per prediction-time bucket. */
  bucketMs: number;
}

/** Performance added to one model: per prediction-time fine bucket, and labels joined in all (the exact labeled_total). */
export interface ModelPerformanceDelta {
  labeled: number;
  buckets: Map<number, PerformanceSummary>;
}

export interface LabelPlan {
  outcomes: Map<LabelOutcome, number>;
  /** By model key. */
  models: Map<string, ModelPerformanceDelta>;
  /** Labels that start waiting for their prediction: member (JSON) → arrival time. */
  pendingAdded: { member: string; score: number }[];
  /** Waiting labels this plan resolves (the commit checks that they still wait). */
  pendingResolved: string[];
}

/** Whether a label takes part in the join (is claimed): its prediction was kept. */
export const claimable = (item: LabelItem, sampleRate: number): boolean => inJoinSample(item.event.prediction_id, sampleRate);

/** The member a waiting label is kept as: everything needed to try it again, its source included. */
export function pendingMember(item: LabelItem): string {
  const { event } = item;
  return JSON.stringify({ id: event.prediction_id, label: event.label, observed_at: event.observed_at, src: item.source });
}

export function itemOfPending(member: string, arrivedAt: number): LabelItem {
  const parsed = JSON.parse(member) as { id: string; label: number | string; observed_at: number; src: string };
  return { event: { prediction_id: parsed.id, label: parsed.label, observed_at: parsed.observed_at }, source: parsed.src, pending: { member, arrivedAt } };
}

/**
 * Decides every label's outcome from what claiming its prediction's record found, and the performance
 * each joined label adds to its model's prediction-time bucket. Pure: the claims were made before
 * (a label with a claimed record is joined, whatever else happens), `now` is passed in.
 * `claims[i]` is item i's claim, undefined when the item is outside the join sample.
 */
export function planLabels(items: readonly LabelItem[], claims: readonly (Claim | undefined)[], now: number, options: LabelPlanOptions): LabelPlan {
  const outcomes = new Map<LabelOutcome, number>(LABEL_OUTCOMES.map((outcome) => [outcome, 0]));
  const count = (outcome: LabelOutcome) => outcomes.set(outcome, outcomes.get(outcome)! + 1);
  const models = new Map<string, ModelPerformanceDelta>();
  const pendingAdded: LabelPlan['pendingAdded'] = [];
  const pendingResolved: string[] = [];

  items.forEach((item, i) => {
    const { event, pending } = item;
    const claim = claims[i];
    const resolve = (outcome: LabelOutcome) => {
      count(outcome);
      if (pending) pendingResolved.push(pending.member);
    };
    if (claim === undefined) return resolve('not_sampled');
    if (claim.kind === 'duplicate') return resolve('duplicate');
    if (claim.kind === 'claimed') {
      const prediction = decodeJoinRecord(claim.record);
      const bucketStart = prediction.sentAt - (prediction.sentAt % options.bucketMs);
      let model = models.get(prediction.model);
      if (!model) models.set(prediction.model, (model = { labeled: 0, buckets: new Map() }));
      let summary = model.buckets.get(bucketStart);
      if (!summary) model.buckets.set(bucketStart, (summary = new PerformanceSummary()));
      summary.add({ prediction: prediction.prediction, scores: prediction.scores, label: event.label, delayMs: event.observed_at - prediction.sentAt }, options.maxClasses);
      model.labeled++;
      return resolve('joined');
    }
    // No record (yet).
    if (pending) {
      // Still no prediction: give up after the wait, else leave it waiting.
      if (now - pending.arrivedAt >= options.waitMs) resolve('unknown');
      return;
    }
    // A prediction precedes its outcome: a label observed longer than the TTL ago has no record left.
    if (event.observed_at < now - options.ttlMs) return resolve('expired');
    count('pending');
    pendingAdded.push({ member: pendingMember(item), score: now });
  });
  return { outcomes, models, pendingAdded, pendingResolved };
}
