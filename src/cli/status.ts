import type { Command } from 'commander';
import { parseDuration } from '../evaluate/duration.ts';
import { DriftwatchError } from '../errors.ts';
import { buildStatus, type StatusReport } from '../report/status.ts';
import { ModelReader } from '../runtime/model-reader.ts';
import { openTopologyState } from '../runtime/state.ts';
import { resolveTopology } from './topology-option.ts';

const fmt = (value: number | null | undefined, digits = 3): string =>
  value === null || value === undefined ? '-' : Math.abs(value) >= 1e5 ? value.toExponential(2) : value.toFixed(digits);
const pct = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)}%`);

export function renderStatus(report: StatusReport): string {
  const lines: string[] = [];
  lines.push(`driftwatch status at ${new Date(report.generated_at).toISOString()} (window ${report.window_ms / 1000}s)`);
  if (report.models.length === 0) lines.push('no models seen yet');
  for (const model of report.models) {
    const lat = model.latency_ms;
    lines.push('');
    lines.push(
      `${model.predictor_name} / ${model.model_id} (${model.role})  total ${model.count_total}  window ${model.window.count}  ` +
        `errors ${pct(model.error_rate)}  latency p50 ${fmt(lat?.p50, 1)} p99 ${fmt(lat?.p99, 1)} ms`,
    );
    const perf = model.performance;
    if ((perf.labeled ?? 0) > 0) {
      const parts = [`labeled ${perf.labeled} (coverage ${pct(perf.label_coverage)})`];
      if (perf.accuracy !== undefined) parts.push(`accuracy ${fmt(perf.accuracy)}`, `macro F1 ${fmt(perf.f1_macro)}`);
      if (perf.auc !== undefined) parts.push(`AUC ${fmt(perf.auc)}`);
      if (perf.mae !== undefined) parts.push(`MAE ${fmt(perf.mae)}`, `RMSE ${fmt(perf.rmse)}`, `bias ${fmt(perf.bias)}`);
      if (perf.label_delay_ms) parts.push(`label delay p50 ${fmt(perf.label_delay_ms.p50 / 1000, 1)} s`);
      lines.push(`  performance: ${parts.join('  ')}`);
    }
    const rows = Object.entries(model.features).map(([name, f]) => [
      name,
      f.type,
      String(f.count_total),
      pct(f.missing_rate),
      pct(f.default_rate),
      f.type === 'numeric' ? `${fmt(f.quantiles?.p50)} [${fmt(f.quantiles?.p90)} p90]` : Object.keys(f.top_categories ?? {}).slice(0, 3).join(','),
      f.type === 'numeric' ? `psi ${fmt(f.drift['psi'])} ks ${fmt(f.drift['ks'])}` : f.type === 'categorical' ? `js ${fmt(f.drift['js'])} linf ${fmt(f.drift['linf'])}` : '-',
    ]);
    const header = ['feature', 'type', 'total', 'missing', 'default', 'median / top', 'drift'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const row of [header, ...rows]) lines.push('  ' + row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
  }
  const comparisons = report.comparisons ?? [];
  if (comparisons.length > 0) lines.push('', 'comparisons (candidate vs baseline):');
  for (const c of comparisons) {
    const metric = c.metric ? c.statistics[c.metric.name === 'accuracy' ? 'accuracy_difference' : 'mae_difference'] : undefined;
    const estimate = metric ? `  ${c.metric!.name} difference ${fmt(metric.value)} [${fmt(metric.lower)}, ${fmt(metric.upper)}] (margin ${fmt(c.metric!.margin)})` : '';
    const samples = c.samples ? `  labeled ${c.samples.candidate.labeled} / ${c.samples.baseline.labeled}, predictions ${c.samples.candidate.predictions} / ${c.samples.baseline.predictions}${c.samples.candidate.pairs > 0 ? `, pairs ${c.samples.candidate.pairs}` : ''}` : '';
    const eta = c.decision_eta_s !== null ? `  ${c.towards} in ~${c.decision_eta_s}s` : '';
    lines.push(`  ${c.predictor_name}/${c.candidate_model_id} (${c.candidate_role}) vs ${c.baseline_model_id ?? '-'}: ${c.state.toUpperCase()}${estimate}${samples}${eta}`);
    if (c.verdict) lines.push(`    ${c.verdict.reason}`);
  }
  const firing = report.alerts.filter((alert) => alert.state === 'firing');
  lines.push('', firing.length === 0 ? 'no firing alerts' : `firing alerts (${firing.length}):`);
  for (const alert of firing) {
    lines.push(`  [${alert.severity}] ${alert.rule} ${alert.predictor_name}/${alert.model_id}${alert.feature ? ` ${alert.feature}` : ''}: ${alert.statistic} ${fmt(alert.value)} (threshold ${fmt(alert.threshold)}) since ${new Date(alert.since).toISOString()}`);
  }
  const dlq = Object.entries(report.dead_letters);
  if (dlq.length > 0) lines.push('', `dead-lettered: ${dlq.map(([code, n]) => `${code} ${n}`).join(', ')}`);
  return lines.join('\n');
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('models, features, statistics and firing alerts, read from Redis')
    .option('--topology <file>', 'topology file (default: topologies/default.yaml)')
    .option('--json', 'machine-readable output (a stable contract)')
    .option('--window <duration>', 'the current window to report', '1m')
    .action(async (options: { topology?: string; json?: boolean; window: string }) => {
      const windowMs = parseDuration(options.window);
      if (windowMs === undefined) throw new DriftwatchError('DW_ERR_USAGE', `--window: expected a duration such as 5m, got "${options.window}"`);
      const topology = resolveTopology(options.topology);
      const state = openTopologyState(topology, { maxRetriesPerRequest: 2 });
      try {
        const reader = new ModelReader(state, topology, { cacheReferences: false });
        const report = await buildStatus(state, reader, Date.now(), { name: options.window, duration: windowMs });
        process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderStatus(report)}\n`);
      } finally {
        await state.close();
      }
    });
}
