import type { CompareReport } from './compare.ts';

const HEADERS = ['column', 'type', 'n_ref', 'n_cur', 'miss_ref', 'miss_cur', 'psi', 'ks', 'ks_p', 'js', 'wasserstein', 'shape', 'ad_p', 'linf', 'chi2_p', 'drifted'];
const NUMERIC_FROM = 2; // columns from here on are right-aligned

/** The report as an aligned text table, one line per column (and the rules that fired), then its warnings, for people at a terminal. */
export function formatTable(report: CompareReport): string {
  const rows: string[][] = [HEADERS];
  for (const [name, column] of Object.entries(report.columns)) {
    const d = column.drift;
    rows.push([
      name,
      column.type,
      String(column.count_ref),
      String(column.count_cur),
      percent(column.missing_rate_ref),
      percent(column.missing_rate_cur),
      stat(d.psi),
      stat(d.ks),
      pValue(d.ks_p),
      stat(d.js),
      stat(d.wasserstein),
      stat(d.shape),
      pValue(d.ad_p),
      stat(d.linf),
      pValue(d.chi2_p),
      column.insufficient ? 'insufficient' : column.drifted ? `YES: ${column.fired.map((fired) => fired.rule).join(', ')}` : 'no',
    ]);
  }
  const widths = HEADERS.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  const lines = rows.map((row) =>
    row.map((cell, i) => (i >= NUMERIC_FROM ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number))).join('  ').trimEnd(),
  );
  return `${[...lines, ...report.warnings.map((warning) => `warning: ${warning}`)].join('\n')}\n`;
}

function stat(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(4);
}

function pValue(value: number | undefined): string {
  if (value === undefined) return '-';
  return value !== 0 && value < 1e-3 ? value.toExponential(1) : value.toFixed(3);
}

function percent(rate: number): string {
  return `${(100 * rate).toFixed(1)}%`;
}
