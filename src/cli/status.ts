import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { formatDuration } from '../evaluate/duration.ts';
import { DriftwatchError, errorMessage } from '../errors.ts';
import type { ModelFilter, StatusReport } from '../report/status.ts';
import type { ConnectionErrors } from './connection-errors.ts';
import { duration, examples, topologyOption } from './options.ts';

const fmt = (value: number | null | undefined, digits = 3): string =>
  value === null || value === undefined ? '-' : Math.abs(value) >= 1e5 ? value.toExponential(2) : value.toFixed(digits);
const pct = (value: number | null | undefined): string => (value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)}%`);

export function renderStatus(report: StatusReport): string {
  const lines: string[] = [];
  lines.push(`driftwatch status at ${new Date(report.generated_at).toISOString()} (window ${formatDuration(report.window_ms)})`);
  const source = report.source;
  if (source) lines.push(`source: ${source.redis}  key prefix "${source.key_prefix}"  topology ${source.topology}`);
  if (report.models_total === 0) {
    lines.push('no models seen yet under this key prefix: no worker has written here, or state.redis_url / state.key_prefix point elsewhere');
  } else if (report.filter) {
    const { predictor, model } = report.filter;
    const globs = [predictor === undefined ? '' : `--predictor ${predictor}`, model === undefined ? '' : `--model ${model}`].filter((glob) => glob !== '');
    lines.push(`${report.models.length} of ${report.models_total} models match ${globs.join(' ')}`);
  }
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

interface StatusFlags {
  topology?: string;
  json?: boolean;
  window: number;
  predictor?: string;
  model?: string;
  watch?: number | true;
}

const DEFAULT_WATCH_MS = 5000;

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('models, features, statistics and firing alerts, read from Redis')
    .addOption(topologyOption())
    .option('--json', 'machine-readable output: the stable contract of schemas/status.schema.json ("version": 1)')
    .addOption(new Option('--window <duration>', 'the current window to report').argParser(duration('--window')).default(60_000, '1m'))
    .option('--predictor <glob>', 'only predictors matching this glob (* any run, ? one character)')
    .option('--model <glob>', 'only models matching this glob')
    .option('--watch [interval]', `refresh every interval until Ctrl-C (default ${formatDuration(DEFAULT_WATCH_MS)}); with --json, one document per line`, duration('--watch'))
    .addHelpText(
      'after',
      examples(
        ['driftwatch status', 'every model under the topology\'s key prefix, over the last minute'],
        ['driftwatch status --predictor eta --model "eta-v1*" --window 15m', 'one predictor\'s v1 models over 15 minutes'],
        ['driftwatch status --watch', 'a view that refreshes every 5 s'],
        ['driftwatch status --json | jq \'.models[] | {model_id, count_total}\'', 'the JSON contract, for scripts'],
      ) + '\nDead letters, overflow and label counts are for the whole key prefix, whatever the filters.\n',
    )
    .action(async (options: StatusFlags) => {
      // Loaded on use: `--help` must not pay for kafkajs, ioredis and the rest (start-up time).
      const [{ resolveTopology, topologySource }, { buildStatus }, { ModelReader }, { openTopologyState }, { ConnectionErrors }] = await Promise.all([
        import('./topology-option.ts'),
        import('../report/status.ts'),
        import('../runtime/model-reader.ts'),
        import('../runtime/state.ts'),
        import('./connection-errors.ts'),
      ]);
      const topology = resolveTopology(options.topology);
      const state = openTopologyState(topology, { maxRetriesPerRequest: 2 });
      const source = { redis: state.health.address, key_prefix: topology.state.key_prefix, topology: topologySource(options.topology) };
      const filter: ModelFilter = {
        ...(options.predictor === undefined ? {} : { predictor: options.predictor }),
        ...(options.model === undefined ? {} : { model: options.model }),
      };
      const window = { name: formatDuration(options.window), duration: options.window };
      const connections = ConnectionErrors.of(topology);
      connections.watch(state.health);
      const reader = new ModelReader(state, topology, { cacheReferences: false });
      const report = async (): Promise<StatusReport> => ({ ...(await buildStatus(state, reader, Date.now(), window, filter)), source });
      try {
        if (options.watch === undefined) {
          const status = await connections.run(report);
          process.stdout.write(options.json ? `${JSON.stringify(status, null, 2)}\n` : `${renderStatus(status)}\n`);
        } else {
          await watch(options.watch === true ? DEFAULT_WATCH_MS : options.watch, options.json === true, report, connections);
        }
      } finally {
        await state.close();
      }
    });
}

/**
 * `--watch`: a frame per interval until Ctrl-C. On a terminal the screen is redrawn; otherwise frames
 * follow each other (with --json, one document per line). A failed read shows as one line and the
 * view goes on: Redis coming back is what the user is watching for.
 */
async function watch(intervalMs: number, json: boolean, report: () => Promise<StatusReport>, connections: ConnectionErrors): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const tty = process.stdout.isTTY === true && !json;
  try {
    while (!stop.signal.aborted) {
      let frame: string;
      try {
        const status = await report();
        frame = json ? JSON.stringify(status) : renderStatus(status);
      } catch (error) {
        const described = connections.describe(error);
        const code = described instanceof DriftwatchError ? described.code : 'DW_ERR_INTERNAL';
        frame = json ? JSON.stringify({ generated_at: Date.now(), error: { code, message: errorMessage(described) } }) : `driftwatch status: ${code}: ${errorMessage(described)} (retrying every ${formatDuration(intervalMs)})`;
      }
      if (tty) process.stdout.write(`\x1b[2J\x1b[H${frame}\n\n(refreshing every ${formatDuration(intervalMs)}; Ctrl-C stops)\n`);
      else process.stdout.write(json ? `${frame}\n` : `${frame}\n\n`);
      await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
