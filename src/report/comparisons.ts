import type { VerdictEvent } from '../evaluate/verdict-event.ts';
import { globToRegExp } from '../evaluate/rules.ts';
import type { StoredComparison } from '../runtime/comparison-runner.ts';
import type { SummaryState } from '../runtime/state.ts';
import type { ModelEntry } from '../state/index.ts';

/** A shadow/canary comparison as `status --json` shows it: its running state, or its verdict. */
export interface ComparisonStatus {
  predictor_name: string;
  candidate_model_id: string;
  candidate_role: string;
  baseline_model_id: string | null;
  /** running, rollback, promote, expired; decided ones carry their verdict. */
  state: string;
  started_at: number | null;
  evaluated_at: number | null;
  samples: StoredComparison['samples'] | null;
  metric: { name: string; margin: number } | null;
  alpha: number | null;
  alpha_per_test: number | null;
  /** statistic → estimate, confidence-sequence bounds (sequential ones), samples, each side's value. */
  statistics: StoredComparison['statistics'];
  guardrails: StoredComparison['rules'];
  /** At the current estimate and sample rate, the seconds until the metric would decide, and which way. */
  decision_eta_s: number | null;
  towards: string | null;
  verdict?: VerdictStatus;
}

export interface VerdictStatus extends VerdictEvent {
  /** When Kafka acknowledged it; null while it waits in Redis to be published. */
  published_at: number | null;
}

/** Comparisons of the candidates among `models` (roles now), read from Redis as their evaluators left them. */
export async function comparisonStatuses(state: Pick<SummaryState, 'comparisons'>, models: readonly ModelEntry[]): Promise<ComparisonStatus[]> {
  const candidates = models.filter((model) => model.role === 'shadow' || model.role === 'canary');
  const stored = await Promise.all(candidates.map((model) => state.comparisons.read(model.key)));
  return candidates.flatMap((model, i): ComparisonStatus[] => {
    const { state: json, verdict } = stored[i]!;
    const record = json ? (JSON.parse(json) as StoredComparison) : undefined;
    const event = verdict ? ({ ...(JSON.parse(verdict.event) as VerdictEvent), published_at: verdict.publishedAt } satisfies VerdictStatus) : undefined;
    if (!record && !event) return [];
    return [
      {
        predictor_name: model.predictor,
        candidate_model_id: model.model,
        candidate_role: model.role,
        baseline_model_id: event?.baseline_model_id ?? record?.baseline ?? null,
        state: event?.decision ?? record!.state,
        started_at: record?.progress.started_at ?? event?.started_at ?? null,
        evaluated_at: record?.evaluated_at ?? null,
        samples: record?.samples ?? null,
        metric: record?.metric ? { name: record.metric.name, margin: record.metric.margin } : null,
        alpha: record?.alpha ?? null,
        alpha_per_test: record?.alpha_per_test ?? null,
        statistics: record?.statistics ?? {},
        guardrails: record?.rules ?? [],
        decision_eta_s: event ? null : (record?.eta?.seconds ?? null),
        towards: event ? null : (record?.eta?.towards ?? null),
        ...(event ? { verdict: event } : {}),
      },
    ];
  });
}

/** Every verdict still kept (the audit trail), newest first; `predictor` is a glob. */
export async function listVerdicts(state: Pick<SummaryState, 'windows' | 'comparisons'>, predictor = '*'): Promise<VerdictStatus[]> {
  const match = globToRegExp(predictor);
  const models = (await state.windows.models()).filter((model) => match.test(model.predictor));
  const verdicts = await state.comparisons.verdicts(models.map((model) => model.key));
  return [...verdicts.values()]
    .map((verdict) => ({ ...(JSON.parse(verdict.event) as VerdictEvent), published_at: verdict.publishedAt }))
    .sort((a, b) => b.decided_at - a.decided_at);
}
