import type { Command } from 'commander';
import { compareFiles, formatTable, type ColumnType } from '../compare/index.ts';
import { effectiveRules } from '../config/topology.ts';
import { DriftwatchError } from '../errors.ts';
import { RuleBook } from '../evaluate/rules.ts';
import { resolveTopology } from './topology-option.ts';

interface CompareFlags {
  json?: boolean;
  type: string[];
  minSamples?: number;
  alpha?: number;
  topology?: string;
  failOnDrift?: boolean;
  predictor: string;
  model: string;
}

/** `--fail-on-drift` and a rule fired on some column: a CI gate tells this apart from errors (1, 2). */
export const DRIFT_EXIT_CODE = 3;

export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description("offline drift between two CSV/NDJSON files, column by column, through the same sketches and the topology's rules")
    .argument('<ref>', 'reference file: CSV with a header, or NDJSON (one object per line)')
    .argument('<cur>', 'current file, same formats')
    .option('--json', 'print the report as JSON')
    .option('--type <column=type>', 'force a column type, numeric or categorical (repeatable)', collect, [])
    .option('--topology <file>', "whose rules decide, as the monitor applies them (default: topologies/default.yaml, else the built-in rules)")
    .option('--predictor <name>', "the predictor the files belong to, for the topology's rule and override globs", '')
    .option('--model <name>', 'the model they belong to, same', '')
    .option('--fail-on-drift', `exit ${DRIFT_EXIT_CODE} when a rule fires on any column (a CI gate)`)
    .option('--min-samples <n>', "values needed on each side for a verdict (default: each rule's min_samples, 500 for the built-in ones)", positiveInteger)
    .option('--alpha <p>', "significance of the drift rules' tests (default: each rule's, 1e-8 for the built-in ones)", probability)
    .action(async (ref: string, cur: string, flags: CompareFlags) => {
      const topology = resolveTopology(flags.topology);
      const report = await compareFiles(ref, cur, {
        types: parseTypes(flags.type),
        rules: new RuleBook(effectiveRules(topology), topology.rules.overrides),
        series: { predictor: flags.predictor, model: flags.model },
        ...(flags.minSamples === undefined ? {} : { minSamples: flags.minSamples }),
        ...(flags.alpha === undefined ? {} : { significance: flags.alpha }),
        categoryCap: topology.state.caps.categories_per_feature,
      });
      process.stdout.write(flags.json ? `${JSON.stringify({ columns: report.columns, reference: report.reference, current: report.current }, null, 2)}\n` : formatTable(report));
      if (flags.failOnDrift && Object.values(report.columns).some((column) => column.drifted)) process.exitCode = DRIFT_EXIT_CODE;
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `col=numeric|categorical`, split at the last '=' so column names may contain one. */
export function parseTypes(specs: readonly string[]): Map<string, ColumnType> {
  const types = new Map<string, ColumnType>();
  for (const spec of specs) {
    const at = spec.lastIndexOf('=');
    const column = spec.slice(0, at);
    const type = spec.slice(at + 1);
    if (at <= 0 || (type !== 'numeric' && type !== 'categorical')) {
      throw new DriftwatchError('DW_ERR_USAGE', `--type expects column=numeric or column=categorical, got "${spec}"`);
    }
    types.set(column, type);
  }
  return types;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new DriftwatchError('DW_ERR_USAGE', `--min-samples expects a positive integer, got "${value}"`);
  return n;
}

function probability(value: string): number {
  const p = Number(value);
  if (!(p > 0 && p < 1)) throw new DriftwatchError('DW_ERR_USAGE', `--alpha expects a number in (0, 1), got "${value}"`);
  return p;
}
