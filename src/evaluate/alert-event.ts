import { createHash } from 'node:crypto';
import { formatDuration } from './duration.ts';
import type { ResolvedRule } from './rules.ts';

/** The alert event of schemas/alert-event.avsc. */
export interface AlertEvent {
  id: string;
  state: 'firing' | 'resolved';
  rule: string;
  severity: string;
  predictor_name: string;
  model_id: string;
  feature: string | null;
  statistic: string;
  value: number;
  threshold: number;
  window: string;
  reference: string;
  since: number;
  evaluated_at: number;
  summary: string;
  details: Record<string, string>;
  /** This transition of this incident: the same for every copy of the event, whoever publishes it. */
  event_id: string;
}

export const PREDICTION_SERIES = '__prediction__';

/** Stable for one incident and the same whichever worker computes it: rule, series and start time. */
export function incidentId(rule: string, predictor: string, model: string, feature: string | null, since: number): string {
  return createHash('sha256').update(`${rule}\u0000${predictor}\u0000${model}\u0000${feature ?? ''}\u0000${since}`).digest('hex').slice(0, 24);
}

/**
 * The id of one transition of one incident ("<incident>:<state>"). An event a worker had to publish
 * again (its broker stalled, or it died between publishing and acknowledging) carries the same id: a
 * consumer that keeps the ids it has seen sees each transition once.
 */
export function alertEventId(incident: string, state: 'firing' | 'resolved'): string {
  return `${incident}:${state}`;
}

const LABELS: Record<string, string> = {
  psi: 'PSI',
  ks: 'KS distance',
  ks_p: 'KS p-value',
  js: 'Jensen–Shannon distance',
  wasserstein: 'Wasserstein distance (in reference σ)',
  mean_shift: 'mean shift (in reference σ)',
  ad: 'Anderson–Darling A²',
  ad_p: 'Anderson–Darling p-value',
  shape: 'change of spread and shape (medians aligned, in reference mean absolute deviations)',
  band_change: 'largest change of a quantile band\'s width (p5–p50, p50–p95, p25–p75)',
  linf: 'largest category share change',
  chi2_p: 'chi-square p-value',
  out_of_range_rate: 'out-of-range rate',
  new_category_rate: 'new-category rate',
  missing_rate: 'missing rate',
  missing_rate_increase: 'missing-rate increase',
  default_rate: 'default-value rate',
  default_rate_increase: 'default-value-rate increase',
  error_rate: 'error rate',
  error_rate_increase: 'error-rate increase',
  latency_p99_ratio: 'p99 latency ratio to the reference',
};

const isRate = (statistic: string) => statistic.endsWith('_rate') || statistic.endsWith('_increase') || statistic === 'linf' || statistic === 'accuracy' || statistic === 'label_coverage';

export function formatValue(statistic: string, value: number): string {
  if (isRate(statistic)) return `${(value * 100).toFixed(1)}%`;
  if (statistic.endsWith('_p')) return value.toExponential(1);
  if (statistic.startsWith('latency_p') && !statistic.endsWith('ratio')) return `${value.toFixed(1)} ms`;
  if (statistic.endsWith('ratio')) return `${value.toFixed(2)}×`;
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(3);
}

function subject(predictor: string, model: string, feature: string | null): string {
  if (feature === null) return `model ${predictor}/${model}`;
  if (feature === PREDICTION_SERIES) return `the prediction of ${predictor}/${model}`;
  return `feature "${feature}" of ${predictor}/${model}`;
}

/** One sentence a person paged at 3 a.m. can act on: what, how much, against what, since when. */
export function alertSummary(event: Omit<AlertEvent, 'summary' | 'id' | 'event_id'>, clearAt: number): string {
  const label = LABELS[event.statistic] ?? event.statistic;
  const what = subject(event.predictor_name, event.model_id, event.feature);
  const since = new Date(event.since).toISOString().replace('.000Z', 'Z');
  const direction = event.threshold <= clearAt ? 'below' : 'above';
  if (event.state === 'firing') {
    return `${what}: ${label} is ${formatValue(event.statistic, event.value)} over the last ${event.window} vs the ${event.reference} reference (fires ${direction} ${formatValue(event.statistic, event.threshold)}), since ${since}.`;
  }
  const lasted = formatDuration(Math.max(1000, Math.round((event.evaluated_at - event.since) / 1000) * 1000));
  return `Resolved: ${what}: ${label} is back to ${formatValue(event.statistic, event.value)} (clears ${direction === 'above' ? 'at or below' : 'at or above'} ${formatValue(event.statistic, clearAt)}) after ${lasted}, since ${since}.`;
}

export function buildAlertEvent(
  state: 'firing' | 'resolved',
  rule: ResolvedRule,
  series: { predictor: string; model: string; feature: string | null },
  incident: { id: string; since: number; value: number },
  context: { window: string; reference: string; now: number; details: Record<string, string> },
): AlertEvent {
  const partial = {
    state,
    rule: rule.name,
    severity: rule.severity,
    predictor_name: series.predictor,
    model_id: series.model,
    feature: series.feature,
    statistic: rule.statistic,
    value: incident.value,
    threshold: rule.threshold,
    window: context.window,
    reference: context.reference,
    since: incident.since,
    evaluated_at: context.now,
    details: { ...context.details, clear: String(rule.clearAt), direction: rule.direction },
  };
  return { id: incident.id, ...partial, summary: alertSummary(partial, rule.clearAt), event_id: alertEventId(incident.id, state) };
}
