export { Admission, Aggregator, type AggregatorOptions, type BucketDelta, type Drained, type ModelIdentity } from './aggregator.ts';
export { ModelSummary, ValueSummary } from './summary.ts';
