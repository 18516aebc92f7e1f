import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parse as parseCsv, type CsvError, type Options as CsvOptions } from 'csv-parse';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { DriftwatchError, errorMessage } from '../errors.ts';

/** A cell: text (CSV, JSON strings/booleans), a JSON number, or null for missing. */
export type Cell = string | number | null;

export interface Row {
  /** 1-based line where the record ends (a quoted CSV field may span lines). */
  readonly line: number;
  readonly cells: ReadonlyMap<string, Cell>;
}

export type Format = 'csv' | 'ndjson';

/** CSV field delimiters told apart by detection; `--delimiter` may name any other single character. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;

export interface Table {
  readonly path: string;
  readonly format: Format;
  /** The CSV delimiter, detected or given. */
  readonly delimiter?: string;
  readonly gzip: boolean;
  /** Column names: the CSV header, or NDJSON keys in order of first appearance (grows while reading). */
  readonly columns: string[];
  rows(): AsyncGenerator<Row>;
}

export interface ReadOptions {
  /** A CSV delimiter instead of detection. */
  delimiter?: string;
}

/**
 * Tokens read as missing, case-insensitively, in CSV cells and JSON strings: the empty cell and what
 * pandas, R and SQL exports write for "no value" (pandas' default na_values, less the Excel error codes).
 */
const MISSING_TOKENS = new Set(['', 'na', 'n/a', '#n/a', '<na>', 'nan', '-nan', 'null', 'none']);

export function isMissingToken(text: string): boolean {
  return MISSING_TOKENS.has(text.trim().toLowerCase());
}

/** Decompressed bytes looked at to tell the format and the delimiter. */
const SAMPLE_BYTES = 64 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Opens a CSV file (a header line; the delimiter among , ; tab | detected from the first 64 KiB;
 * "quoted" fields with "" escapes and line breaks, parsed by csv-parse) or an NDJSON file (one JSON
 * object per line) for streaming, gzip-compressed or not (told by its first bytes, not its name).
 * The format comes from the extension (.csv, .tsv; .ndjson, .jsonl, .json; a .gz after it is ignored),
 * else from the first non-blank character ('{' means NDJSON). Files are streamed, never read whole.
 * Every problem is a DW_ERR_INPUT naming the file and line.
 */
export async function openTable(path: string, options: ReadOptions = {}): Promise<Table> {
  const gzip = await isGzip(path);
  const sample = await readSample(path, gzip);
  const extension = extname(path.replace(/\.gz$/i, '')).toLowerCase();
  const format: Format =
    extension === '.csv' || extension === '.tsv'
      ? 'csv'
      : ['.ndjson', '.jsonl', '.json'].includes(extension)
        ? 'ndjson'
        : sample.trimStart().startsWith('{')
          ? 'ndjson'
          : 'csv';
  if (format === 'ndjson') {
    const columns: string[] = [];
    return { path, format, gzip, columns, rows: () => ndjsonRows(path, gzip, columns) };
  }
  const delimiter = options.delimiter ?? (extension === '.tsv' ? '\t' : detectDelimiter(sample));
  const header = await csvHeader(path, gzip, delimiter);
  return { path, format, gzip, delimiter, columns: header, rows: () => csvRows(path, gzip, delimiter, header) };
}

const inputError = (path: string, error: unknown) => new DriftwatchError('DW_ERR_INPUT', `cannot read ${path}: ${errorMessage(error)}`, { cause: error });

async function isGzip(path: string): Promise<boolean> {
  try {
    const file = await open(path, 'r');
    try {
      const magic = Buffer.alloc(2);
      const { bytesRead } = await file.read(magic, 0, 2, 0);
      return bytesRead === 2 && magic[0] === GZIP_MAGIC[0] && magic[1] === GZIP_MAGIC[1];
    } finally {
      await file.close();
    }
  } catch (error) {
    throw inputError(path, error);
  }
}

/** The file's bytes, decompressed when gzip; a read or gunzip failure is a DW_ERR_INPUT naming the file. */
function source(path: string, gzip: boolean): Readable {
  const file = createReadStream(path);
  if (!gzip) return file;
  const gunzip = createGunzip();
  file.on('error', (error) => gunzip.destroy(error));
  return file.pipe(gunzip);
}

async function readSample(path: string, gzip: boolean): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const input = source(path, gzip);
  try {
    for await (const chunk of input) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= SAMPLE_BYTES) break;
    }
  } catch (error) {
    throw inputError(path, error);
  } finally {
    input.destroy();
  }
  const sample = Buffer.concat(chunks).subarray(0, SAMPLE_BYTES).toString('utf8');
  // A sample cut mid-line ends at its last complete line.
  return size >= SAMPLE_BYTES && sample.includes('\n') ? sample.slice(0, sample.lastIndexOf('\n') + 1) : sample;
}

const CSV_OPTIONS: CsvOptions = { bom: true, skip_empty_lines: true, relax_column_count: true, trim: true };

/**
 * The delimiter among , ; tab | that splits the sample into the most columns with every record as wide
 * as the header (the idea of Python's csv.Sniffer, on csv-parse's quoting rules); "," when none does.
 */
export function detectDelimiter(sample: string): string {
  let best = { delimiter: ',', columns: 1, consistency: 0 };
  for (const delimiter of DELIMITERS) {
    const records = sampleRecords(sample, delimiter);
    const columns = records[0]?.length ?? 0;
    if (columns < 2) continue;
    const consistency = records.filter((record) => record.length === columns).length / records.length;
    if (consistency > best.consistency || (consistency === best.consistency && columns > best.columns)) best = { delimiter, columns, consistency };
  }
  return best.delimiter;
}

function sampleRecords(sample: string, delimiter: string): string[][] {
  try {
    return parseCsvSync(sample, { ...CSV_OPTIONS, delimiter, relax_quotes: true }) as string[][];
  } catch (error) {
    // A quoted field cut by the sample's end: judge the lines before it.
    const line = (error as CsvError).lines;
    if (typeof line !== 'number' || line <= 2) return [];
    try {
      return parseCsvSync(sample, { ...CSV_OPTIONS, delimiter, relax_quotes: true, to_line: line - 1 }) as string[][];
    } catch {
      return [];
    }
  }
}

/** CSV records with the line each ends on; csv-parse's errors become DW_ERR_INPUT with file and line. */
async function* csvRecords(path: string, gzip: boolean, delimiter: string): AsyncGenerator<[number, string[]]> {
  const input = source(path, gzip);
  const parser = input.pipe(parseCsv({ ...CSV_OPTIONS, delimiter, info: true }));
  input.on('error', (error) => parser.destroy(error));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      yield [info.lines, record];
    }
  } catch (error) {
    if (error instanceof DriftwatchError) throw error;
    const line = (error as Partial<CsvError>).lines;
    if (typeof (error as Partial<CsvError>).code === 'string' && typeof line === 'number') {
      throw new DriftwatchError('DW_ERR_INPUT', `${path}:${line}: ${errorMessage(error).replace(/ at line \d+/, '')}`, { cause: error });
    }
    throw inputError(path, error);
  } finally {
    input.destroy();
    parser.destroy();
  }
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite number if the text is a plain decimal number (no hex, no Infinity), else undefined. */
export function parseNumber(cell: Cell): number | undefined {
  if (typeof cell === 'number') return cell;
  if (cell === null) return undefined;
  const text = cell.trim();
  if (!NUMBER.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

function csvCell(text: string): Cell {
  return isMissingToken(text) ? null : text;
}

async function csvHeader(path: string, gzip: boolean, delimiter: string): Promise<string[]> {
  for await (const [line, fields] of csvRecords(path, gzip, delimiter)) {
    const names = fields.map((name) => name.trim());
    names.forEach((name, index) => {
      if (name === '') throw new DriftwatchError('DW_ERR_INPUT', `${path}:${line}: header column ${index + 1} has no name`);
    });
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) throw new DriftwatchError('DW_ERR_INPUT', `${path}:${line}: header names column "${name}" twice`);
      seen.add(name);
    }
    if (names.every((name) => parseNumber(name) !== undefined)) {
      throw new DriftwatchError('DW_ERR_INPUT', `${path}:${line}: no header (the first line holds only numbers)`);
    }
    return names;
  }
  throw new DriftwatchError('DW_ERR_INPUT', `${path}: no header (the file is empty)`);
}

const delimiterName = (delimiter: string): string => (delimiter === '\t' ? 'tab' : `"${delimiter}"`);

async function* csvRows(path: string, gzip: boolean, delimiter: string, header: readonly string[]): AsyncGenerator<Row> {
  let first = true;
  for await (const [line, fields] of csvRecords(path, gzip, delimiter)) {
    if (first) {
      first = false;
      continue;
    }
    if (fields.length !== header.length) {
      throw new DriftwatchError(
        'DW_ERR_INPUT',
        `${path}:${line}: expected ${header.length} fields as in the header, found ${fields.length} (delimiter ${delimiterName(delimiter)})`,
      );
    }
    const cells = new Map<string, Cell>();
    for (let i = 0; i < header.length; i++) cells.set(header[i] as string, csvCell(fields[i] as string));
    yield { line, cells };
  }
}

async function* ndjsonRows(path: string, gzip: boolean, columns: string[]): AsyncGenerator<Row> {
  const known = new Set(columns);
  const input = source(path, gzip);
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const raw of reader) {
      line++;
      const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new DriftwatchError('DW_ERR_INPUT', `${path}:${line}: not valid JSON (${errorMessage(error)})`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new DriftwatchError('DW_ERR_INPUT', `${path}:${line}: expected a JSON object per line`);
      }
      const cells = new Map<string, Cell>();
      for (const [key, raw] of Object.entries(value)) {
        if (!known.has(key)) {
          known.add(key);
          columns.push(key);
        }
        cells.set(key, jsonCell(raw));
      }
      yield { line, cells };
    }
  } catch (error) {
    throw error instanceof DriftwatchError ? error : inputError(path, error);
  } finally {
    reader.close();
    input.destroy();
  }
}

function jsonCell(raw: unknown): Cell {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') return isMissingToken(raw) ? null : raw;
  if (typeof raw === 'boolean') return String(raw);
  return JSON.stringify(raw);
}

/** One column of one file, after a full pass: how its non-missing cells parse. */
export interface ColumnScan {
  numeric: number;
  nonNumeric: number;
  missing: number;
  /** The first cell that is not a number, and where. */
  firstNonNumeric?: { line: number; text: string };
}

/** One pass over a table: its columns (NDJSON keys seen anywhere) and how their cells parse. */
export async function scanColumns(table: Table): Promise<Map<string, ColumnScan>> {
  const scans = new Map<string, ColumnScan>();
  const scanOf = (column: string): ColumnScan => {
    let scan = scans.get(column);
    if (!scan) scans.set(column, (scan = { numeric: 0, nonNumeric: 0, missing: 0 }));
    return scan;
  };
  for (const column of table.columns) scanOf(column);
  for await (const row of table.rows()) {
    for (const [column, cell] of row.cells) {
      const scan = scanOf(column);
      if (cell === null) scan.missing++;
      else if (parseNumber(cell) !== undefined) scan.numeric++;
      else {
        scan.nonNumeric++;
        scan.firstNonNumeric ??= { line: row.line, text: String(cell) };
      }
    }
  }
  return scans;
}

/**
 * Share of a column's non-missing cells that must be numbers for it to be numeric. A few stray texts
 * ("n/d", "1,5", "12 kg") are counted and reported, not allowed to turn a numeric column categorical.
 */
export const NUMERIC_SHARE = 0.9;

export function inferType(scans: readonly (ColumnScan | undefined)[]): 'numeric' | 'categorical' {
  let numeric = 0;
  let nonNumeric = 0;
  for (const scan of scans) {
    numeric += scan?.numeric ?? 0;
    nonNumeric += scan?.nonNumeric ?? 0;
  }
  return numeric + nonNumeric === 0 || numeric >= NUMERIC_SHARE * (numeric + nonNumeric) ? 'numeric' : 'categorical';
}
