export { openState, type State, type StateAdmin, type StateHealth, type StateOptions, type StateSpec } from './open-state.ts';
export type { StateCodecs, SummaryCodec } from './codecs.ts';
export type { LabelCommit, LabelCommitResult, ModelPairWrite, ModelPerformanceWrite, ModelWrite, PredictionWrite, PredictionWriteResult } from './batch-store.ts';
export type { ComparisonWriteResult, StoredVerdict } from './comparison-store.ts';
export type { PairFound, PairRequest } from './pair-store.ts';
export type { ClaimFound, JoinWrite } from './join-store.ts';
export type { ModelEntry, PartitionCounters, Totals } from './window-store.ts';
export type { AlertChange } from './evaluation-store.ts';
export { KeyLayout, type Resolution } from './keys.ts';
