import { createHash } from 'node:crypto';
import type { CandidateRole } from './comparison-model.ts';

/** The verdict event of schemas/verdict-event.avsc: at most one per candidate model. */
export interface VerdictEvent {
  verdict_id: string;
  predictor_name: string;
  candidate_model_id: string;
  candidate_role: CandidateRole;
  baseline_model_id: string;
  decision: 'promote' | 'rollback';
  /** What decided: the metric (accuracy, mae), a guard-rail's name, or "guard-rails". */
  trigger: string;
  reason: string;
  /** statistic → value, with bounds (".lower", ".upper"), sample sizes (".samples", "candidate.labeled") and settings (alpha, margin). */
  evidence: Record<string, number>;
  started_at: number;
  decided_at: number;
}

/**
 * The same for a candidate whichever worker decides and however often the event is published: a
 * consumer that deduplicates by it sees one verdict per candidate. A candidate is its predictor and
 * model id (a new model id starts over).
 */
export function verdictId(predictor: string, candidate: string): string {
  return createHash('sha256').update(`verdict\u0000${predictor}\u0000${candidate}`).digest('hex').slice(0, 24);
}

/** The Kafka key of a verdict event: predictor_name/candidate_model_id. */
export const verdictKey = (event: Pick<VerdictEvent, 'predictor_name' | 'candidate_model_id'>): string => `${event.predictor_name}/${event.candidate_model_id}`;
