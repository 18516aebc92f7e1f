import type { Command } from 'commander';
import { listVerdicts, type VerdictStatus } from '../report/comparisons.ts';
import { openTopologyState } from '../runtime/state.ts';
import { resolveTopology } from './topology-option.ts';

const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The audit trail as a person reads it: one block per verdict, newest first. */
export function renderVerdicts(verdicts: readonly VerdictStatus[]): string {
  if (verdicts.length === 0) return 'no verdicts kept';
  const lines: string[] = [];
  for (const verdict of verdicts) {
    lines.push(
      `${time(verdict.decided_at)}  ${verdict.decision.toUpperCase().padEnd(8)} ${verdict.predictor_name}/${verdict.candidate_model_id} (${verdict.candidate_role}) vs ${verdict.baseline_model_id}  by ${verdict.trigger}${verdict.published_at === null ? '  [not yet on Kafka]' : ''}`,
      `  ${verdict.reason}`,
      `  verdict_id ${verdict.verdict_id}, compared since ${time(verdict.started_at)}; evidence: ${Object.entries(verdict.evidence)
        .filter(([name]) => !name.includes('.') || name.endsWith('.lower') || name.endsWith('.upper') || name.endsWith('labeled'))
        .map(([name, value]) => `${name} ${+value.toPrecision(4)}`)
        .join(', ')}`,
      '',
    );
  }
  return lines.join('\n').trimEnd();
}

export function registerVerdictsCommand(program: Command): void {
  program
    .command('verdicts')
    .description('the promote/rollback verdicts on shadow and canary models, with their evidence (the audit trail kept in Redis)')
    .option('--topology <file>', 'topology file (default: topologies/default.yaml)')
    .option('--predictor <glob>', 'only these predictors', '*')
    .option('--json', 'machine-readable output: an array of verdict events, each with published_at')
    .action(async (options: { topology?: string; predictor: string; json?: boolean }) => {
      const topology = resolveTopology(options.topology);
      const state = openTopologyState(topology, { maxRetriesPerRequest: 2 });
      try {
        const verdicts = await listVerdicts(state, options.predictor);
        process.stdout.write(options.json ? `${JSON.stringify(verdicts, null, 2)}\n` : `${renderVerdicts(verdicts)}\n`);
      } finally {
        await state.close();
      }
    });
}
