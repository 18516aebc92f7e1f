export { CLAIM_MARK, decodeJoinRecord, encodeJoinRecord, SOURCE_HASH_BYTES, sourceHash, type JoinRecord } from './record.ts';
export { inJoinSample, JOIN_SHARDS, joinShard, predictionIdHash } from './sample.ts';
export { JoinSlots } from './slots.ts';
export { claimable, itemOfPending, LABEL_OUTCOMES, pendingMember, planLabels, type Claim, type LabelItem, type LabelOutcome, type LabelPlan, type LabelPlanOptions, type ModelPerformanceDelta } from './plan-labels.ts';
export { pairEntryOf, pairField, planPairs, type CompletedPair, type PairEntry } from './plan-pairs.ts';
