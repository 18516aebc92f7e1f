import type { Command } from 'commander';
import type { ColumnType } from '../compare/index.ts';
import { effectiveRules } from '../config/topology.ts';
import { DriftwatchError } from '../errors.ts';
import { RuleBook } from '../evaluate/rules.ts';
import { examples, topologyOption } from './options.ts';
import { resolveTopology } from './topology-option.ts';

interface CompareFlags {
  json?: boolean;
  delimiter?: string;
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
    .addOption(topologyOption()) // its rules decide, as the monitor applies them
    .option('--predictor <name>', "the predictor the files belong to, for the topology's rule and override globs", '')
    .option('--model <name>', 'the model they belong to, same', '')
    .option('--fail-on-drift', `exit ${DRIFT_EXIT_CODE} when a rule fires on any column (a CI gate)`)
    .option('--min-samples <n>', "values needed on each side for a verdict (default: each rule's min_samples, 500 for the built-in ones)", positiveInteger)
    .option('--alpha <p>', "significance of the drift rules' tests (default: each rule's, 1e-8 for the built-in ones)", probability)
    .option('--delimiter <char>', 'CSV field delimiter, e.g. ";" or tab (default: detected among , ; tab |)', delimiter)
    .addHelpText(
      'after',
      examples(
        ['driftwatch compare train.csv last-week.csv.gz', 'CSV (delimiter detected, quoted fields, gzip by content), column by column'],
        ['driftwatch compare ref.ndjson cur.ndjson --json', 'NDJSON, as JSON: columns, the rules that fired, schema differences, warnings'],
        ['driftwatch compare ref.csv cur.csv --type zip=categorical', 'a numeric-looking column compared as categories'],
        ['driftwatch compare train.csv today.csv --topology prod.yaml --fail-on-drift', `prod's rules decide; exit ${DRIFT_EXIT_CODE} when one fires (a CI gate)`],
      ) +
        '\nMissing: empty cells and NA, N/A, NaN, null, None (any case). A numeric column keeps its stray texts out of the\nstatistics and counts them (non_numeric_ref/cur); a column of one file only is a warning, not compared.\n' +
        `Exit codes: 0 ok (drifted or not, without --fail-on-drift), ${DRIFT_EXIT_CODE} drift with --fail-on-drift, 2 bad usage or configuration, 1 runtime failure.\n`,
    )
    .action(async (ref: string, cur: string, flags: CompareFlags) => {
      const topology = resolveTopology(flags.topology);
      const { compareFiles, formatTable } = await import('../compare/index.ts'); // on use: start-up time
      const report = await compareFiles(ref, cur, {
        types: parseTypes(flags.type),
        rules: new RuleBook(effectiveRules(topology), topology.rules.overrides),
        series: { predictor: flags.predictor, model: flags.model },
        ...(flags.minSamples === undefined ? {} : { minSamples: flags.minSamples }),
        ...(flags.alpha === undefined ? {} : { significance: flags.alpha }),
        categoryCap: topology.state.caps.categories_per_feature,
        read: flags.delimiter === undefined ? {} : { delimiter: flags.delimiter },
      });
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ columns: report.columns, reference: report.reference, current: report.current, schema: report.schema, warnings: report.warnings }, null, 2)}\n`
          : formatTable(report),
      );
      if (flags.failOnDrift && Object.values(report.columns).some((column) => column.drifted)) process.exitCode = DRIFT_EXIT_CODE;
    });
}

/** One character, or "tab" for a tab. */
function delimiter(value: string): string {
  const char = value === 'tab' || value === '\\t' ? '\t' : value;
  if (char.length !== 1 || char === '"' || char === '\n' || char === '\r') throw new DriftwatchError('DW_ERR_USAGE', `--delimiter expects one character (or "tab"), got "${value}"`);
  return char;
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
