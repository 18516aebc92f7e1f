import type { AlertEvent } from '../evaluate/alert-event.ts';
import type { VerdictEvent } from '../evaluate/verdict-event.ts';
import type { StatusReport } from '../report/status.ts';

export interface DemoFrame {
  elapsedMs: number;
  sent: number;
  eventsPerSecond: number;
  schedule: string;
  status: StatusReport | undefined;
  events: readonly AlertEvent[];
  /** Verdict events on Kafka (shadow and canary models). */
  verdicts?: readonly VerdictEvent[];
  metricsUrl: string;
  alertsTopic: string;
  /** The latest warnings worth the user's attention; the rest is in the log file. */
  warnings: readonly string[];
  logFile: string;
}

const pad = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));
const num = (value: number | null | undefined, digits = 3) => (value === null || value === undefined ? '-' : value.toFixed(digits));
const points = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '-' : `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`);

/** One screen of the live view: models, their worst features, firing alerts and the alert log. Pure. */
export function renderFrame(frame: DemoFrame): string {
  const lines: string[] = [];
  lines.push(`driftwatch demo — ${Math.round(frame.elapsedMs / 1000)}s — ${frame.sent.toLocaleString('en-US')} events sent (${Math.round(frame.eventsPerSecond)}/s)`);
  lines.push(`drift schedule: ${frame.schedule}`);
  lines.push(`metrics: ${frame.metricsUrl}   alerts topic: ${frame.alertsTopic}   Ctrl-C stops`);
  lines.push('');
  for (const model of frame.status?.models ?? []) {
    const latency = model.latency_ms;
    lines.push(
      `${pad(`${model.predictor_name}/${model.model_id}`, 16)} total ${String(model.count_total).padStart(7)}  window ${String(model.window.count).padStart(5)}  errors ${num((model.error_rate ?? 0) * 100, 1)}%  p99 ${num(latency?.p99, 1)} ms`,
    );
    const worst = Object.entries(model.features)
      .filter(([, feature]) => feature.type === 'numeric' || feature.type === 'categorical')
      .map(([name, feature]) => ({ name, score: feature.drift['ks'] ?? feature.drift['linf'] ?? 0, feature }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 3);
    for (const { name, feature } of worst) {
      const drift = feature.type === 'numeric' ? `ks ${num(feature.drift['ks'])}  psi ${num(feature.drift['psi'])}` : `linf ${num(feature.drift['linf'])}  js ${num(feature.drift['js'])}`;
      lines.push(`    ${pad(name, 6)} ${pad(feature.type, 11)} ${drift}  missing ${num((feature.missing_rate ?? 0) * 100, 1)}%`);
    }
  }
  const comparisons = frame.status?.comparisons ?? [];
  if (comparisons.length > 0) {
    lines.push('', 'comparisons (candidate vs baseline, since the comparison started):');
    for (const c of comparisons) {
      const accuracy = c.statistics.accuracy_difference;
      const estimate = accuracy ? `accuracy ${points(accuracy.value)} points [${points(accuracy.lower)}, ${points(accuracy.upper)}], margin ${num((c.metric?.margin ?? 0) * 100, 0)}` : 'waiting for labels';
      const samples = c.samples ? `labels ${c.samples.candidate.labeled}/${c.samples.baseline.labeled}` : '';
      const eta = c.decision_eta_s !== null ? `${c.towards} in ~${c.decision_eta_s}s` : '';
      lines.push(`  ${pad(`${c.predictor_name}/${c.candidate_model_id} (${c.candidate_role})`, 22)} vs ${c.baseline_model_id ?? '-'}  ${c.state.toUpperCase().padEnd(8)} ${estimate}  ${samples}  ${eta}`);
    }
  }
  for (const verdict of frame.verdicts ?? []) lines.push(`  verdict ${verdict.decision.toUpperCase()}: ${verdict.reason}`);
  const firing = (frame.status?.alerts ?? []).filter((alert) => alert.state === 'firing');
  lines.push('');
  lines.push(firing.length === 0 ? 'firing alerts: none' : `firing alerts: ${firing.length}`);
  for (const alert of firing) lines.push(`  ● ${alert.rule} ${alert.predictor_name}/${alert.model_id} ${alert.feature ?? ''} ${alert.statistic}=${num(alert.value)}`);
  lines.push('');
  lines.push('alert events on Kafka:');
  if (frame.events.length === 0) lines.push('  (none yet)');
  for (const event of frame.events.slice(-6)) lines.push(`  ${new Date(event.evaluated_at).toISOString().slice(11, 19)} ${event.state.toUpperCase().padEnd(8)} ${event.summary}`);
  lines.push('');
  if (frame.warnings.length > 0) lines.push(`warnings (all logs: ${frame.logFile}):`, ...frame.warnings.map((line) => `  ${line}`));
  else lines.push(`logs: ${frame.logFile}`);
  return lines.join('\n');
}
