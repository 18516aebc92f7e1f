import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { DriftwatchError, errorMessage } from '../errors.ts';

/** A cell: text (CSV, JSON strings/booleans), a JSON number, or null for missing. */
export type Cell = string | number | null;

export interface Row {
  /** 1-based line where the record starts. */
  readonly line: number;
  readonly cells: ReadonlyMap<string, Cell>;
}

export type Format = 'csv' | 'ndjson';

export interface Table {
  readonly path: string;
  readonly format: Format;
  /** Column names: the CSV header, or NDJSON keys in order of first appearance (grows while reading). */
  readonly columns: string[];
  rows(): AsyncGenerator<Row>;
}

/**
 * Opens a CSV (RFC 4180: header line, commas, "quoted" fields with "" escapes and line breaks) or NDJSON
 * file (one JSON object per line) for streaming: by extension (.csv; .ndjson, .jsonl, .json), else by
 * the first non-blank character ('{' means NDJSON). Files are read line by line, never whole.
 * Every problem is a DW_ERR_INPUT naming the file and line.
 */
export async function openTable(path: string): Promise<Table> {
  const format = await detectFormat(path);
  if (format === 'ndjson') {
    const columns: string[] = [];
    return { path, format, columns, rows: () => ndjsonRows(path, columns) };
  }
  const header = await csvHeader(path);
  return { path, format, columns: header, rows: () => csvRows(path, header) };
}

async function detectFormat(path: string): Promise<Format> {
  const extension = extname(path).toLowerCase();
  if (extension === '.csv') {
    await head(path); // a missing file fails here, with the same message as any other
    return 'csv';
  }
  if (extension === '.ndjson' || extension === '.jsonl' || extension === '.json') {
    await head(path);
    return 'ndjson';
  }
  return (await head(path)).trimStart().startsWith('{') ? 'ndjson' : 'csv';
}

async function head(path: string): Promise<string> {
  try {
    const file = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(512);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      return buffer.subarray(0, bytesRead).toString('utf8');
    } finally {
      await file.close();
    }
  } catch (error) {
    throw new DriftwatchError('DW_ERR_INPUT', `cannot read ${path}: ${errorMessage(error)}`, { cause: error });
  }
}

async function* lines(path: string): AsyncGenerator<[number, string]> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  try {
    for await (const text of reader) {
      number++;
      yield [number, number === 1 && text.startsWith('\uFEFF') ? text.slice(1) : text];
    }
  } catch (error) {
    throw new DriftwatchError('DW_ERR_INPUT', `cannot read ${path}: ${errorMessage(error)}`, { cause: error });
  } finally {
    reader.close();
    input.destroy();
  }
}

/** CSV records: [start line, fields]; a quoted field may span lines. Blank lines are skipped. */
async function* csvRecords(path: string): AsyncGenerator<[number, string[]]> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let start = 0;
  for await (const [number, text] of lines(path)) {
    if (!quoted) {
      if (text.trim() === '') continue;
      start = number;
      fields = [];
      field = '';
    } else {
      field += '\n';
    }
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i++;
          } else {
            quoted = false;
          }
        } else {
          field += c;
        }
      } else if (c === ',') {
        fields.push(field);
        field = '';
      } else if (c === '"' && field.trim() === '') {
        quoted = true;
        field = '';
      } else {
        field += c;
      }
    }
    if (!quoted) {
      fields.push(field);
      yield [start, fields];
    }
  }
  if (quoted) throw new DriftwatchError('DW_ERR_INPUT', `${path}:${start}: unterminated quoted field`);
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

/** Empty text and `null` (any case) are missing. */
function csvCell(text: string): Cell {
  const trimmed = text.trim();
  return trimmed === '' || trimmed.toLowerCase() === 'null' ? null : text;
}

async function csvHeader(path: string): Promise<string[]> {
  for await (const [line, fields] of csvRecords(path)) {
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

async function* csvRows(path: string, header: readonly string[]): AsyncGenerator<Row> {
  let first = true;
  for await (const [line, fields] of csvRecords(path)) {
    if (first) {
      first = false;
      continue;
    }
    if (fields.length !== header.length) {
      throw new DriftwatchError(
        'DW_ERR_INPUT',
        `${path}:${line}: expected ${header.length} fields as in the header, found ${fields.length}`,
      );
    }
    const cells = new Map<string, Cell>();
    for (let i = 0; i < header.length; i++) cells.set(header[i] as string, csvCell(fields[i] as string));
    yield { line, cells };
  }
}

async function* ndjsonRows(path: string, columns: string[]): AsyncGenerator<Row> {
  const known = new Set(columns);
  for await (const [line, text] of lines(path)) {
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
}

function jsonCell(raw: unknown): Cell {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') return raw.trim() === '' ? null : raw;
  if (typeof raw === 'boolean') return String(raw);
  return JSON.stringify(raw);
}
