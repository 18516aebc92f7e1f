export { Admission, Aggregator, type AggregatorOptions, type BucketDelta, type Drained, type ModelIdentity } from './aggregator.ts';
export { ModelSummary, ValueSummary } from './summary.ts';
export { isClassification, PerformanceSummary, type ClassMetrics, type LabeledPrediction, type PerformanceMetrics } from './performance.ts';
export { escapeKeyPart, modelKey, unescapeKeyPart } from './model-key.ts';
export { planPredictions, type JoinEntry, type ModelDelta, type ModelPairDelta, type PositionedEvent, type PredictionPlan, type PredictionPlanOptions } from './prediction-plan.ts';
export { SUMMARY_CODECS } from './codecs.ts';
export { PAIR_SAMPLE_SIZE, PairStats, PairSummary, type PairValue } from './pair-summary.ts';
