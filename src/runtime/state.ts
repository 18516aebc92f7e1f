import { SUMMARY_CODECS, type ModelSummary, type PairSummary, type PerformanceSummary } from '../aggregate/index.ts';
import type { Topology } from '../config/topology.ts';
import { openState, type State, type StateOptions } from '../state/index.ts';

/** The state as everything above the state layer sees it: summaries, performance and pairs, decoded by the aggregate codecs. */
export type SummaryState = State<ModelSummary, PerformanceSummary, PairSummary>;

/** Opens a topology's state (single Redis or Redis Cluster) with the summary codecs. */
export function openTopologyState(topology: Topology, options: Omit<StateOptions, 'maxFutureMs'> = {}): SummaryState {
  return openState(topology.state, SUMMARY_CODECS, { maxFutureMs: topology.windows.max_future, pairTtlMs: topology.comparisons.pair_ttl, ...options });
}
