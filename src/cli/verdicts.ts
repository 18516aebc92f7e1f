import type { Command } from 'commander';
import type { VerdictStatus } from '../report/comparisons.ts';
import { examples, topologyOption } from './options.ts';

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
    .addOption(topologyOption())
    .option('--predictor <glob>', 'only these predictors', '*')
    .option('--json', 'machine-readable output: an array of verdict events, each with published_at')
    .addHelpText(
      'after',
      examples(
        ['driftwatch verdicts', 'every verdict kept, newest first, with the evidence behind it'],
        ['driftwatch verdicts --predictor eta --json', "one predictor's verdicts as verdict events (schemas/verdict-event.avsc) with published_at"],
      ),
    )
    .action(async (options: { topology?: string; predictor: string; json?: boolean }) => {
      // Loaded on use: `--help` must not pay for ioredis and the rest (start-up time).
      const [{ resolveTopology }, { listVerdicts }, { openTopologyState }, { ConnectionErrors }] = await Promise.all([
        import('./topology-option.ts'),
        import('../report/comparisons.ts'),
        import('../runtime/state.ts'),
        import('./connection-errors.ts'),
      ]);
      const topology = resolveTopology(options.topology);
      const state = openTopologyState(topology, { maxRetriesPerRequest: 2 });
      const connections = ConnectionErrors.of(topology);
      connections.watch(state.health);
      try {
        const verdicts = await connections.run(() => listVerdicts(state, options.predictor));
        process.stdout.write(options.json ? `${JSON.stringify(verdicts, null, 2)}\n` : `${renderVerdicts(verdicts)}\n`);
      } finally {
        await state.close();
      }
    });
}
