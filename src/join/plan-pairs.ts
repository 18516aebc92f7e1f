import { escapeKeyPart, PairSummary, type ModelPairDelta, type PairValue } from '../aggregate/index.ts';
import type { PredictionEvent } from '../events.ts';
import { predictionIdHash } from './sample.ts';

/**
 * The paired-prediction join, pure part: which predictions take part, and what the pairs they complete
 * add to each shadow model. A shadow's answer and its primary's answer to the same request (same
 * predictor, same `request_id`) are joined exactly once through Redis (pair-requests.lua: the second
 * to arrive completes the pair, a replay finds its own completion), like a label and its prediction.
 */

/** What the predictions of one request share: the hash field of the request's entry. */
export const pairField = (predictor: string, requestId: string): string => `${escapeKeyPart(predictor)}\u0000${requestId}`;

/** A prediction as it enters its request's entry. */
export interface PairEntry {
  field: string;
  role: 'primary' | 'shadow';
  value: PairValue;
}

/** Primaries and shadows with a request id and an answer take part; canaries answer requests of their own. */
export function pairEntryOf(event: PredictionEvent): PairEntry | undefined {
  if (event.request_id === null || event.request_id === undefined || event.prediction === null || event.error !== null) return undefined;
  if (event.role !== 'primary' && event.role !== 'shadow') return undefined;
  return { field: pairField(event.predictor_name, event.request_id), role: event.role, value: event.prediction };
}

/** A pair a prediction completed: the shadow's and the primary's model keys and answers. */
export interface CompletedPair {
  shadow: { model: string; value: PairValue };
  primary: { model: string; value: PairValue };
}

/**
 * What the completed pairs add, per shadow model and fine bucket (of the completing prediction's
 * sent_at), against the primary it was paired with. Pairs completed at or below a model's floor (its
 * part of this partition is in up to there) are left out, as its own events are.
 * `completed[i]` is what events[i] completed (empty or undefined: nothing).
 */
export function planPairs(
  events: readonly { offset: number; event: PredictionEvent }[],
  completed: readonly (readonly CompletedPair[] | undefined)[],
  bucketMs: number,
  floors: ReadonlyMap<string, number> = new Map(),
): ModelPairDelta[] {
  const models = new Map<string, { firstOffset: number; buckets: Map<number, PairSummary> }>();
  events.forEach(({ offset, event }, i) => {
    const pairs = completed[i];
    if (!pairs || pairs.length === 0) return;
    const start = event.sent_at - (event.sent_at % bucketMs);
    const hash = predictionIdHash(event.request_id ?? '');
    for (const { shadow, primary } of pairs) {
      const floor = floors.get(shadow.model);
      if (floor !== undefined && offset <= floor) continue;
      let model = models.get(shadow.model);
      if (!model) models.set(shadow.model, (model = { firstOffset: offset, buckets: new Map() }));
      model.firstOffset = Math.min(model.firstOffset, offset);
      let summary = model.buckets.get(start);
      if (!summary) model.buckets.set(start, (summary = new PairSummary()));
      summary.add(primary.model, hash, shadow.value, primary.value);
    }
  });
  return [...models].map(([key, { firstOffset, buckets }]) => ({ key, firstOffset, buckets: [...buckets].map(([start, summary]) => ({ start, bytes: summary.encode() })) }));
}
