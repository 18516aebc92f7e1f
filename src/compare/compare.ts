import { DriftwatchError } from '../errors.ts';
import { CategoryCounts, Moments, TDigest } from '../sketch/index.ts';
import {
  categoricalDrift,
  categoricalVerdict,
  numericDrift,
  numericVerdict,
  type VerdictThresholds,
} from '../stats/index.ts';
import { inferType, openTable, parseNumber, scanColumns, type Cell, type ColumnScan, type ReadOptions, type Table } from './read.ts';

export type ColumnType = 'numeric' | 'categorical';

export interface CompareOptions {
  /** Forced column types; the others are inferred. */
  readonly types?: ReadonlyMap<string, ColumnType>;
  readonly thresholds?: Partial<VerdictThresholds>;
  /** Named categories kept per column before `__other__`. */
  readonly categoryCap?: number;
  /** How the files are read (a CSV delimiter instead of detection). */
  readonly read?: ReadOptions;
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
  drifted: boolean;
  insufficient: boolean;
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
 * one feeds t-digest + moments or category counts; then src/stats and the verdict rule. A column of one
 * file only is a schema warning, not a column 100 % missing. Two passes keep memory flat whatever the
 * file size.
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
  for (const column of columns) {
    const ref = refSketches.get(column) as ColumnSketch;
    const cur = curSketches.get(column) as ColumnSketch;
    report.columns[column] = columnReport(ref, cur, options.thresholds ?? {});
  }
  return report;
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

function columnReport(ref: ColumnSketch, cur: ColumnSketch, thresholds: Partial<VerdictThresholds>): ColumnReport {
  if (ref.type === 'numeric' && cur.type === 'numeric') {
    const drift = numericDrift(ref, cur);
    const verdict = numericVerdict(drift, thresholds);
    return {
      type: 'numeric',
      ...counts(ref.moments.count, ref.moments.missing, cur.moments.count, cur.moments.missing),
      non_numeric_ref: ref.nonNumeric,
      non_numeric_cur: cur.nonNumeric,
      drift: { psi: drift.psi, ks: drift.ks, ks_p: drift.ks_p, js: drift.js, wasserstein: drift.wasserstein, out_of_range: drift.out_of_range },
      drifted: verdict.drifted,
      insufficient: verdict.insufficient,
      reasons: verdict.reasons,
    };
  }
  if (ref.type === 'categorical' && cur.type === 'categorical') {
    const drift = categoricalDrift(ref.counts, cur.counts);
    const verdict = categoricalVerdict(drift, thresholds);
    return {
      type: 'categorical',
      ...counts(ref.counts.total, ref.counts.missing, cur.counts.total, cur.counts.missing),
      drift: { js: drift.js, linf: drift.linf, chi2_p: drift.chi2_p, chi2: drift.chi2, new_category_rate: drift.new_category_rate },
      drifted: verdict.drifted,
      insufficient: verdict.insufficient,
      reasons: verdict.reasons,
    };
  }
  throw new DriftwatchError('DW_ERR_INTERNAL', 'reference and current sketches of one column disagree on its type');
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
