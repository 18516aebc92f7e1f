import { ValueSummary } from '../aggregate/index.ts';
import { DEFAULT_RULES, ruleSchema } from '../config/rules.ts';
import { DriftwatchError } from '../errors.ts';
import { compareValues } from '../evaluate/compare-values.ts';
import { formatValue } from '../evaluate/alert-event.ts';
import { judge, seriesReading, significanceTest } from '../evaluate/judge.ts';
import { RuleBook, type ResolvedRule } from '../evaluate/rules.ts';
import { CategoryCounts, Moments, TDigest } from '../sketch/index.ts';
import { categoricalDrift, numericDrift } from '../stats/index.ts';
import { inferType, openTable, parseNumber, scanColumns, type Cell, type ColumnScan, type ReadOptions, type Table } from './read.ts';

export type ColumnType = 'numeric' | 'categorical';

export interface CompareOptions {
  /** Forced column types; the others are inferred. */
  readonly types?: ReadonlyMap<string, ColumnType>;
  /** The rules that decide (a topology's, as the monitor applies them); the built-in rules by default. */
  readonly rules?: RuleBook;
  /** The predictor and model the columns belong to, for the rules' and overrides' globs ('' by default). */
  readonly series?: { predictor: string; model: string };
  /** Replace every rule's min_samples / significance (the --min-samples and --alpha options). */
  readonly minSamples?: number;
  readonly significance?: number;
  /** Named categories kept per column before `__other__`. */
  readonly categoryCap?: number;
  /** How the files are read (a CSV delimiter instead of detection). */
  readonly read?: ReadOptions;
}

/** A rule that fired on a column, with what it read. */
export interface FiredRule {
  rule: string;
  statistic: string;
  value: number;
  threshold: number;
  direction: 'above' | 'below';
  p_value?: number;
  significance?: number;
  severity: string;
}

export interface ColumnReport {
  type: ColumnType;
  count_ref: number;
  count_cur: number;
  missing_ref: number;
  missing_cur: number;
  missing_rate_ref: number;
  missing_rate_cur: number;
  /** Numeric columns: cells that are neither a number nor missing, left out of the statistics. */
  non_numeric_ref?: number;
  non_numeric_cur?: number;
  drift: Record<string, number>;
  /** A rule of the topology fired: what the monitor would alert on with these two samples as window and reference. */
  drifted: boolean;
  /** Every rule that could read the column had too few values on a side. */
  insufficient: boolean;
  fired: FiredRule[];
  reasons: readonly string[];
}

export interface CompareReport {
  reference: string;
  current: string;
  /** Columns of both files; a column of one file only is named in `schema` and `warnings` instead. */
  columns: Record<string, ColumnReport>;
  schema: { only_in_reference: string[]; only_in_current: string[] };
  /** One sentence each: schema mismatches, non-numeric cells in numeric columns. */
  warnings: string[];
}

/**
 * Column-wise drift between two files through the product's own sketches: a first streaming pass finds
 * each file's columns and infers each shared column's type over both files (numeric when at least 90 %
 * of its non-missing cells are finite decimal numbers; the others are counted and reported), a second
 * one feeds t-digest + moments or category counts; then src/stats, and the verdict of the monitor's own
 * rules (a topology's, or the built-in ones): each feature rule is judged as the evaluator judges it
 * (evaluate/judge.ts) with the current file as its one window and the reference file as reference —
 * same statistics, thresholds, significance and min_samples; `for` durations need a stream and do not
 * apply. A column of one file only is a schema warning, not a column 100 % missing. Two passes keep
 * memory flat whatever the file size.
 */
export async function compareFiles(referencePath: string, currentPath: string, options: CompareOptions = {}): Promise<CompareReport> {
  const reference = await openTable(referencePath, options.read);
  const current = await openTable(currentPath, options.read);
  const forced = options.types ?? new Map<string, ColumnType>();

  const refScan = await scanColumns(reference);
  const curScan = await scanColumns(current);
  const columns = [...refScan.keys()].filter((column) => curScan.has(column));
  const onlyInReference = [...refScan.keys()].filter((column) => !curScan.has(column));
  const onlyInCurrent = [...curScan.keys()].filter((column) => !refScan.has(column));
  for (const column of forced.keys()) {
    if (!refScan.has(column) && !curScan.has(column)) {
      throw new DriftwatchError('DW_ERR_USAGE', `--type names column "${column}", which is in neither ${referencePath} nor ${currentPath}`);
    }
  }
  if (columns.length === 0) {
    throw new DriftwatchError('DW_ERR_INPUT', `${referencePath} (${describeTable(reference)}) and ${currentPath} (${describeTable(current)}) have no column in common`);
  }
  const warnings = [
    ...onlyInReference.map((column) => `column "${column}" is only in ${referencePath}: not compared`),
    ...onlyInCurrent.map((column) => `column "${column}" is only in ${currentPath}: not compared`),
  ];
  const types = new Map<string, ColumnType>();
  for (const column of columns) {
    const type = forced.get(column) ?? inferType([refScan.get(column), curScan.get(column)]);
    types.set(column, type);
    if (type === 'numeric') warnings.push(...nonNumericWarnings(column, [reference, refScan.get(column)], [current, curScan.get(column)]));
  }

  const cap = options.categoryCap ?? 100;
  const refSketches = await sketchTable(reference, columns, types, cap);
  const curSketches = await sketchTable(current, columns, types, cap);

  const report: CompareReport = {
    reference: referencePath,
    current: currentPath,
    columns: {},
    schema: { only_in_reference: onlyInReference, only_in_current: onlyInCurrent },
    warnings,
  };
  const rules = options.rules ?? builtinRules();
  const series = options.series ?? { predictor: '', model: '' };
  for (const column of columns) {
    const ref = refSketches.get(column) as ColumnSketch;
    const cur = curSketches.get(column) as ColumnSketch;
    const columnRules = rules.for({ ...series, feature: column }, 'feature').map((rule) => ({
      ...rule,
      ...(options.minSamples === undefined ? {} : { min_samples: options.minSamples }),
      ...(options.significance === undefined || rule.significance === undefined ? {} : { significance: options.significance }),
    }));
    report.columns[column] = columnReport(ref, cur, columnRules);
  }
  return report;
}

let builtin: RuleBook | undefined;
function builtinRules(): RuleBook {
  builtin ??= new RuleBook(DEFAULT_RULES.map((rule) => ruleSchema.parse(rule)), []);
  return builtin;
}

function describeTable(table: Table): string {
  const delimiter = table.delimiter === undefined ? '' : `, delimiter ${table.delimiter === '\t' ? 'tab' : `"${table.delimiter}"`}`;
  return `${table.format}${delimiter}, columns ${table.columns.slice(0, 5).join(', ')}${table.columns.length > 5 ? ', …' : ''}`;
}

function nonNumericWarnings(column: string, ...sides: [Table, ColumnScan | undefined][]): string[] {
  return sides.flatMap(([table, scan]) => {
    if (!scan?.firstNonNumeric) return [];
    const { line, text } = scan.firstNonNumeric;
    const share = ((100 * scan.nonNumeric) / (scan.numeric + scan.nonNumeric)).toFixed(1);
    return [`column "${column}" is numeric but ${scan.nonNumeric} cells of ${table.path} (${share} %) are not numbers, e.g. ${JSON.stringify(text)} at line ${line}: left out`];
  });
}

type ColumnSketch =
  | { type: 'numeric'; digest: TDigest; moments: Moments; nonNumeric: number }
  | { type: 'categorical'; counts: CategoryCounts };

async function sketchTable(
  table: Table,
  columns: readonly string[],
  types: ReadonlyMap<string, ColumnType>,
  cap: number,
): Promise<Map<string, ColumnSketch>> {
  const sketches = new Map<string, ColumnSketch>();
  for (const column of columns) {
    sketches.set(
      column,
      types.get(column) === 'numeric'
        ? { type: 'numeric', digest: new TDigest(), moments: new Moments(), nonNumeric: 0 }
        : { type: 'categorical', counts: new CategoryCounts(cap) },
    );
  }
  for await (const row of table.rows()) {
    for (const column of columns) {
      const sketch = sketches.get(column) as ColumnSketch;
      add(sketch, row.cells.get(column) ?? null);
    }
  }
  return sketches;
}

function add(sketch: ColumnSketch, cell: Cell): void {
  if (sketch.type === 'categorical') {
    if (cell === null) sketch.counts.addMissing();
    else sketch.counts.add(String(cell));
    return;
  }
  if (cell === null) {
    sketch.moments.addMissing();
    return;
  }
  const value = parseNumber(cell);
  if (value === undefined) {
    sketch.nonNumeric++;
    return;
  }
  sketch.digest.add(value);
  sketch.moments.add(value);
}

function summaryOf(sketch: ColumnSketch): ValueSummary {
  const summary = new ValueSummary();
  if (sketch.type === 'numeric') {
    summary.logged = sketch.moments.count + sketch.moments.missing;
    summary.nulls = sketch.moments.missing;
    if (sketch.moments.count > 0) summary.numeric = { moments: sketch.moments, digest: sketch.digest };
  } else {
    summary.logged = sketch.counts.total + sketch.counts.missing;
    summary.nulls = sketch.counts.missing;
    if (sketch.counts.total > 0) summary.categories = sketch.counts;
  }
  return summary;
}

function columnReport(ref: ColumnSketch, cur: ColumnSketch, rules: readonly ResolvedRule[]): ColumnReport {
  const reference = summaryOf(ref);
  const current = summaryOf(cur);
  // Every row is an event: a missing cell is a missing value, as in the monitor.
  const comparison = compareValues(current, reference, current.logged, reference.logged);
  const fired: FiredRule[] = [];
  const reasons: string[] = [];
  let decided = false;
  for (const rule of rules) {
    const reading = seriesReading(rule, 'file', comparison);
    if (!reading) continue;
    const { pValue } = reading;
    const statistic = rule.statistic;
    const { observation } = judge(rule, [reading]);
    if (observation.kind === 'insufficient') continue;
    decided = true;
    if (observation.kind !== 'breach') continue;
    const { significance } = rule;
    const gated = significance !== undefined && pValue !== undefined;
    fired.push({ rule: rule.name, statistic, value: observation.value, threshold: rule.threshold, direction: rule.direction, severity: rule.severity, ...(gated ? { p_value: pValue, significance } : {}) });
    const test = significanceTest(statistic, comparison.type) ?? 'p';
    const gate = gated ? ` with ${test} ${formatValue(test, pValue)} < ${significance}` : '';
    reasons.push(`${rule.name}: ${statistic} ${formatValue(statistic, observation.value)} ${rule.direction} ${formatValue(statistic, rule.threshold)}${gate}`);
  }
  if (!decided) {
    const needed = Math.max(0, ...rules.map((rule) => rule.min_samples));
    reasons.push(`insufficient data: ${comparison.referenceSamples} reference and ${comparison.samples} current values, the rules need ${needed} on each side`);
  } else if (fired.length === 0) {
    reasons.push('no rule fired');
  }
  const nonNumeric = ref.type === 'numeric' && cur.type === 'numeric' ? { non_numeric_ref: ref.nonNumeric, non_numeric_cur: cur.nonNumeric } : {};
  return { type: ref.type, ...rowCounts(ref, cur), ...nonNumeric, drift: driftValues(ref, cur), drifted: fired.length > 0, insufficient: !decided, fired, reasons };
}

/** The statistics shown for a column (the brief's keys, then the others). */
function driftValues(ref: ColumnSketch, cur: ColumnSketch): Record<string, number> {
  if (ref.type === 'numeric' && cur.type === 'numeric') {
    const d = numericDrift(ref, cur);
    return { psi: d.psi, ks: d.ks, ks_p: d.ks_p, js: d.js, wasserstein: d.wasserstein, ad: d.ad, ad_p: d.ad_p, shape: d.shape, band_change: d.band_change, out_of_range: d.out_of_range };
  }
  if (ref.type === 'categorical' && cur.type === 'categorical') {
    const d = categoricalDrift(ref.counts, cur.counts);
    return { js: d.js, linf: d.linf, chi2_p: d.chi2_p, chi2: d.chi2, new_category_rate: d.new_category_rate };
  }
  throw new DriftwatchError('DW_ERR_INTERNAL', 'reference and current sketches of one column disagree on its type');
}

function rowCounts(ref: ColumnSketch, cur: ColumnSketch) {
  const of = (sketch: ColumnSketch) => (sketch.type === 'numeric' ? [sketch.moments.count, sketch.moments.missing] : [sketch.counts.total, sketch.counts.missing]);
  const [countRef, missingRef] = of(ref);
  const [countCur, missingCur] = of(cur);
  return counts(countRef!, missingRef!, countCur!, missingCur!);
}

function counts(countRef: number, missingRef: number, countCur: number, missingCur: number) {
  const rate = (missing: number, count: number) => (missing + count === 0 ? 0 : missing / (missing + count));
  return {
    count_ref: countRef,
    count_cur: countCur,
    missing_ref: missingRef,
    missing_cur: missingCur,
    missing_rate_ref: rate(missingRef, countRef),
    missing_rate_cur: rate(missingCur, countCur),
  };
}
