import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../../src/cli/program.ts';
import { compareFiles, formatTable } from '../../../src/compare/index.ts';
import { detectDelimiter, isMissingToken, openTable, type Row } from '../../../src/compare/read.ts';
import { DriftwatchError, exitCodeFor } from '../../../src/errors.ts';
import { createRandom } from '../../../src/random.ts';

let dir = '';
const path = (name: string) => join(dir, name);

/** 400 rows of age (numeric, drifted in `cur`), city (categorical), score (numeric): one table as text. */
function table(delimiter: string, shift: number, seed: number): string {
  const r = createRandom(seed);
  const lines = [['age', 'city', 'score'].join(delimiter)];
  for (let i = 0; i < 400; i++) lines.push([(30 + shift + 5 * r.normal()).toFixed(3), ['paris', 'lyon', 'nice'][i % 3], r.next().toFixed(4)].join(delimiter));
  return `${lines.join('\n')}\n`;
}

async function rows(file: string, delimiter?: string): Promise<Row[]> {
  const opened = await openTable(file, delimiter === undefined ? {} : { delimiter });
  const all: Row[] = [];
  for await (const row of opened.rows()) all.push(row);
  return all;
}

async function inputError(run: () => Promise<unknown>): Promise<DriftwatchError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(DriftwatchError);
    expect(exitCodeFor(error)).toBe(2);
    return error as DriftwatchError;
  }
  throw new Error('expected an input error');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'driftwatch-read-'));
  await writeFile(path('ref.csv'), table(',', 0, 1));
  await writeFile(path('cur-semicolon.csv'), table(';', 10, 2));
  await writeFile(path('cur-tab.txt'), table('\t', 10, 2));
  await writeFile(path('cur-pipe.csv'), table('|', 10, 2));
  await writeFile(path('cur.csv.gz'), gzipSync(table(',', 10, 2)));
  await writeFile(path('cur-gzip-no-extension'), gzipSync(table(',', 10, 2)));
  await writeFile(path('truncated.csv.gz'), gzipSync(table(',', 10, 2)).subarray(0, 200));
  // Quoted fields holding the other candidates (commas in a ;-file) must not fool detection.
  await writeFile(path('quoted-semicolon.csv'), '\uFEFFname;comment;n\n"Smith, J.";"said ""hi"", then; left";1\n"Doe, A.";"plain, really";2\n"Roe";"x";3\n');
  await writeFile(path('missing.csv'), 'x,label\n1.5,a\n,b\nNA,c\nNaN,d\nnull,e\nNone,f\nn/a,g\n2.5,NA\n');
  // 97 numbers and 3 stray texts: numeric, with the texts counted; a half-text column is categorical.
  const mixed = ['amount,size'];
  for (let i = 0; i < 100; i++) mixed.push(`${i % 33 === 5 ? 'n/d' : i},${i % 2 === 0 ? 'L' : i}`);
  await writeFile(path('mixed.csv'), `${mixed.join('\n')}\n`);
  await writeFile(path('extra-column.csv'), table(',', 0, 3).split('\n').map((line, i) => (line === '' ? line : `${line},${i === 0 ? 'added' : i}`)).join('\n'));
  await writeFile(path('unterminated.csv'), 'a,b\n1,"open\n2,3\n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('CSV reading (csv-parse)', () => {
  it('detects the delimiter among , ; tab | and finds the same drift whatever it is', async () => {
    const drifted = new Map<string, boolean | undefined>();
    for (const file of ['cur-semicolon.csv', 'cur-tab.txt', 'cur-pipe.csv']) {
      // 400 rows a side: under the built-in rules' 500, so ask for 100.
      const report = await compareFiles(path('ref.csv'), path(file), { minSamples: 100 });
      expect(Object.keys(report.columns), file).toEqual(['age', 'city', 'score']);
      expect(report.columns.age, file).toMatchObject({ type: 'numeric', count_ref: 400, count_cur: 400, drifted: true });
      expect(report.columns.city, file).toMatchObject({ type: 'categorical', drifted: false });
      drifted.set(file, report.columns.score?.drifted);
    }
    expect(new Set(drifted.values())).toEqual(new Set([false]));
    expect(detectDelimiter('a;b;c\n1;2;3\n')).toBe(';');
    expect(detectDelimiter('a\tb\n1\t2\n')).toBe('\t');
    expect(detectDelimiter('only\n1\n2\n')).toBe(',');
  });

  it('keeps quoted delimiters, doubled quotes and a BOM out of the way', async () => {
    const opened = await openTable(path('quoted-semicolon.csv'));
    expect(opened.delimiter).toBe(';');
    expect(opened.columns).toEqual(['name', 'comment', 'n']);
    const all = await rows(path('quoted-semicolon.csv'));
    expect(all.map((row) => row.cells.get('comment'))).toEqual(['said "hi", then; left', 'plain, really', 'x']);
    expect(all.map((row) => row.line)).toEqual([2, 3, 4]);
  });

  it('reads gzip by content, with or without .gz, and names the file when the stream is corrupt', async () => {
    for (const file of ['cur.csv.gz', 'cur-gzip-no-extension']) {
      const report = await compareFiles(path('ref.csv'), path(file), { minSamples: 100 });
      expect(report.columns.age, file).toMatchObject({ type: 'numeric', count_cur: 400, drifted: true });
    }
    expect((await openTable(path('cur.csv.gz'))).gzip).toBe(true);
    const error = await inputError(() => compareFiles(path('ref.csv'), path('truncated.csv.gz')));
    expect(error.message).toMatch(/^cannot read .*truncated\.csv\.gz: unexpected end of file/);
  });

  it('reads "", NA, NaN, null, None, n/a as missing (any case): a NaN cell does not turn a column categorical', async () => {
    for (const token of ['', 'NA', 'na', 'NaN', 'nan', '-nan', 'NULL', 'None', 'N/A', '#N/A', '<NA>', ' NA ']) expect(isMissingToken(token), token).toBe(true);
    for (const token of ['0', 'n', 'nap', 'Nancy', 'none of it']) expect(isMissingToken(token), token).toBe(false);
    const report = await compareFiles(path('missing.csv'), path('missing.csv'), { minSamples: 1 });
    expect(report.columns.x).toMatchObject({ type: 'numeric', count_ref: 2, missing_ref: 6, non_numeric_ref: 0 });
    expect(report.columns.label).toMatchObject({ type: 'categorical', count_ref: 7, missing_ref: 1 });
    expect(report.warnings).toEqual([]);
  });

  it('keeps a numeric column numeric with a count of its non-numeric cells, and warns where the first one is', async () => {
    const report = await compareFiles(path('mixed.csv'), path('mixed.csv'), { minSamples: 1 });
    expect(report.columns.amount).toMatchObject({ type: 'numeric', count_ref: 97, non_numeric_ref: 3, missing_ref: 0 });
    expect(report.columns.size?.type).toBe('categorical');
    expect(report.warnings[0]).toMatch(/^column "amount" is numeric but 3 cells of .*mixed\.csv \(3\.0 %\) are not numbers, e\.g\. "n\/d" at line 7: left out$/);
  });

  it('warns about a column of one file only instead of showing it 100 % missing', async () => {
    const report = await compareFiles(path('ref.csv'), path('extra-column.csv'));
    expect(Object.keys(report.columns)).toEqual(['age', 'city', 'score']);
    expect(report.schema).toEqual({ only_in_reference: [], only_in_current: ['added'] });
    expect(report.warnings).toEqual([`column "added" is only in ${path('extra-column.csv')}: not compared`]);
    expect(formatTable(report)).toContain(`warning: column "added" is only in ${path('extra-column.csv')}: not compared`);
  });

  it('says which delimiters it read when two files share no column, and obeys --delimiter', async () => {
    const error = await inputError(() => compareFiles(path('ref.csv'), path('cur-semicolon.csv'), { read: { delimiter: ',' } }));
    expect(error.message).toMatch(/ref\.csv \(csv, delimiter ",", columns age, city, score\) and .*cur-semicolon\.csv \(csv, delimiter ",", columns age;city;score\) have no column in common/);

    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
    try {
      await buildProgram().parseAsync(['node', 'driftwatch', 'compare', path('cur-tab.txt'), path('cur-tab.txt'), '--delimiter', 'tab', '--json']);
    } finally {
      spy.mockRestore();
    }
    const json = JSON.parse(out.join('')) as { columns: Record<string, { count_ref: number }>; schema: unknown; warnings: string[] };
    expect(json.columns.age?.count_ref).toBe(400);
    expect(json.schema).toEqual({ only_in_reference: [], only_in_current: [] });
    expect(json.warnings).toEqual([]);
    await expect(buildProgram().parseAsync(['node', 'driftwatch', 'compare', 'a', 'b', '--delimiter', ';;'])).rejects.toMatchObject({ code: 'DW_ERR_USAGE' });
  });

  it('names file and line of an unterminated quoted field', async () => {
    const error = await inputError(() => rows(path('unterminated.csv')));
    expect(error.message).toMatch(/unterminated\.csv:\d+: Quote Not Closed/);
  });

  it('streams: quoted line breaks across read chunks, 100,000 rows, counted exactly', async () => {
    const lines = ['id,note,value'];
    for (let i = 0; i < 100_000; i++) lines.push(i % 1000 === 7 ? `${i},"two\nlines, quoted",${i / 10}` : `${i},plain,${i / 10}`);
    await writeFile(path('big.csv.gz'), gzipSync(`${lines.join('\n')}\n`));
    let count = 0;
    let quoted = 0;
    let sum = 0;
    for (const row of await rows(path('big.csv.gz'))) {
      count++;
      if (row.cells.get('note') === 'two\nlines, quoted') quoted++;
      sum += Number(row.cells.get('value'));
    }
    expect({ count, quoted }).toEqual({ count: 100_000, quoted: 100 });
    expect(sum).toBeCloseTo((99_999 * 100_000) / 2 / 10, 3);
  });
});
