export { Admission, Aggregator, type AggregatorOptions, type BucketDelta, type Drained, type ModelIdentity } from './aggregator.ts';
export { ModelSummary, ValueSummary } from './summary.ts';
export { decodeJoinRecord, encodeJoinRecord, inJoinSample, predictionIdHash, isClassification, PerformanceSummary, type ClassMetrics, type JoinRecord, type LabeledPrediction, type PerformanceMetrics } from './performance.ts';
