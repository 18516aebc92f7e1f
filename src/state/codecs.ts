/**
 * How the store merges what it keeps without knowing what it is: summaries enter and leave the state
 * layer as bytes, and the caller passes in the codec that folds a list of them into one (compaction,
 * read-time write-backs, window reads). `merge` of one element must decode it.
 */
export interface SummaryCodec<T> {
  merge(blobs: readonly Buffer[]): T;
  encode(value: T): Buffer;
}

export interface StateCodecs<S, P, Q = unknown> {
  /** Per-model bucket summaries (features, prediction, latency, counts). */
  summary: SummaryCodec<S>;
  /** Per-model online performance (labels joined to predictions). */
  performance: SummaryCodec<P>;
  /** Per-shadow paired predictions (a shadow's answers beside its primary's to the same requests). */
  pairs: SummaryCodec<Q>;
}
