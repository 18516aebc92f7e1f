import { DriftwatchError } from '../errors.ts';
import { CategoryCounts, Moments, TDigest } from '../sketch/index.ts';
import {
  categoricalDrift,
  categoricalVerdict,
  numericDrift,
  numericVerdict,
  type VerdictThresholds,
} from '../stats/index.ts';
import { openTable, parseNumber, type Cell, type Table } from './read.ts';

export type ColumnType = 'numeric' | 'categorical';

export interface CompareOptions {
  /** Forced column types; the others are inferred. */
  readonly types?: ReadonlyMap<string, ColumnType>;
  readonly thresholds?: Partial<VerdictThresholds>;
  /** Named categories kept per column before `__other__`. */
  readonly categoryCap?: number;
}

export interface ColumnReport {
  type: ColumnType;
  count_ref: number;
  count_cur: number;
  missing_ref: number;
  missing_cur: number;
  missing_rate_ref: number;
  missing_rate_cur: number;
  drift: Record<string, number>;
  drifted: boolean;
  insufficient: boolean;
  reasons: readonly string[];
}

export interface CompareReport {
  reference: string;
  current: string;
  columns: Record<string, ColumnReport>;
}

/**
 * Column-wise drift between two files through the product's own sketches: a first streaming pass
 * infers each column's type over both files (numeric when every non-missing value is a finite decimal
 * number), a second one feeds t-digest + moments or category counts; then src/stats and the verdict
 * rule. Two passes keep memory flat whatever the file size.
 */
export async function compareFiles(referencePath: string, currentPath: string, options: CompareOptions = {}): Promise<CompareReport> {
  const reference = await openTable(referencePath);
  const current = await openTable(currentPath);
  const forced = options.types ?? new Map<string, ColumnType>();

  const numericSoFar = new Map<string, boolean>();
  for (const table of [reference, current]) {
    for await (const row of table.rows()) {
      for (const [column, cell] of row.cells) {
        if (cell === null || forced.has(column)) continue;
        if (numericSoFar.get(column) === false) continue;
        numericSoFar.set(column, parseNumber(cell) !== undefined);
      }
    }
  }
  const columns = [...new Set([...reference.columns, ...current.columns])];
  for (const column of forced.keys()) {
    if (!columns.includes(column)) {
      throw new DriftwatchError('DW_ERR_USAGE', `--type names column "${column}", which is in neither ${referencePath} nor ${currentPath}`);
    }
  }
  const types = new Map<string, ColumnType>();
  for (const column of columns) {
    types.set(column, forced.get(column) ?? (numericSoFar.get(column) === false ? 'categorical' : 'numeric'));
  }

  const cap = options.categoryCap ?? 100;
  const refSketches = await sketchTable(reference, columns, types, cap);
  const curSketches = await sketchTable(current, columns, types, cap);

  const report: CompareReport = { reference: referencePath, current: currentPath, columns: {} };
  for (const column of columns) {
    const ref = refSketches.get(column) as ColumnSketch;
    const cur = curSketches.get(column) as ColumnSketch;
    report.columns[column] = columnReport(ref, cur, options.thresholds ?? {});
  }
  return report;
}

type ColumnSketch =
  | { type: 'numeric'; digest: TDigest; moments: Moments }
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
        ? { type: 'numeric', digest: new TDigest(), moments: new Moments() }
        : { type: 'categorical', counts: new CategoryCounts(cap) },
    );
  }
  for await (const row of table.rows()) {
    for (const column of columns) {
      const sketch = sketches.get(column) as ColumnSketch;
      add(sketch, row.cells.get(column) ?? null, () => `${table.path}:${row.line}: column "${column}"`);
    }
  }
  return sketches;
}

function add(sketch: ColumnSketch, cell: Cell, where: () => string): void {
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
  if (value === undefined) throw new DriftwatchError('DW_ERR_INPUT', `${where()}: ${JSON.stringify(cell)} is not a finite number`);
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
