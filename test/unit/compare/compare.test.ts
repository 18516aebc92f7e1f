import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildProgram } from '../../../src/cli/program.ts';
import { compareFiles, formatTable } from '../../../src/compare/index.ts';
import { DriftwatchError, exitCodeFor } from '../../../src/errors.ts';
import { createRandom } from '../../../src/random.ts';

let dir = '';
const path = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'driftwatch-compare-'));
  const r = createRandom(1);
  const ref = ['age,city,score,code'];
  const cur = ['age,city,score,code'];
  for (let i = 0; i < 400; i++) {
    ref.push(`${30 + 5 * r.normal()},${['paris', 'lyon', 'nice'][i % 3]},${i % 10 === 0 ? '' : r.next()},${i % 4}`);
    cur.push(`${40 + 5 * r.normal()},"${['paris', 'lyon', 'brest'][i % 3]}",${r.next()},${i % 4}`);
  }
  await writeFile(path('ref.csv'), `${ref.join('\n')}\n`);
  await writeFile(path('cur.csv'), `${cur.join('\r\n')}\r\n`);
  const lines = Array.from({ length: 300 }, (_, i) => JSON.stringify({ age: 30 + (i % 20), city: i % 2 ? 'paris' : 'lyon', flag: i % 3 === 0, note: null }));
  await writeFile(path('cur.ndjson'), `${lines.join('\n')}\n`);
  await writeFile(path('quoted.csv'), 'name,comment\n"Smith, J.","said ""hi""\nthen left"\nDoe,plain\n');
  await writeFile(path('ragged.csv'), 'a,b,c\n1,2,3\n4,5,6\n7,8\n');
  await writeFile(path('noheader.csv'), '1,2,3\n4,5,6\n');
  await writeFile(path('empty.csv'), '');
  await writeFile(path('words.csv'), 'age,city,score,code\nold,paris,1,2\n');
  await writeFile(path('data.txt'), '{"age": 31, "x": 1, "note": "NaN"}\n{"age": 32, "x": 2, "note": null}\n');
  await writeFile(path('badjson.ndjson'), '{"x": 1}\n{"x": \n');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

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

describe('compare', () => {
  it('infers column types and finds the drifted columns (CSV, quoted fields, CRLF)', async () => {
    // 400 rows a side: under the rules' 500, so ask for 100.
    const report = await compareFiles(path('ref.csv'), path('cur.csv'), { minSamples: 100 });
    const { age, city, score, code } = report.columns;
    expect(age).toMatchObject({ type: 'numeric', count_ref: 400, count_cur: 400, drifted: true });
    expect(age?.fired.map((fired) => fired.rule)).toContain('feature-drift');
    expect(city).toMatchObject({ type: 'categorical', drifted: true });
    expect(city?.fired.map((fired) => fired.rule)).toContain('category-drift');
    expect(city?.drift.linf).toBeCloseTo(1 / 3, 2);
    expect(score).toMatchObject({ type: 'numeric', count_ref: 360, missing_ref: 40, drifted: false });
    expect(score?.missing_rate_ref).toBeCloseTo(0.1, 12);
    expect(code).toMatchObject({ type: 'numeric', drifted: false });
    expect(Object.keys(age?.drift ?? {})).toEqual(expect.arrayContaining(['psi', 'ks', 'ks_p', 'js', 'wasserstein']));
    expect(Object.keys(city?.drift ?? {})).toEqual(expect.arrayContaining(['js', 'linf', 'chi2_p']));
  });

  it('--type overrides inference, and a non-number under numeric is counted and named by file and line', async () => {
    const forced = await compareFiles(path('ref.csv'), path('cur.csv'), { types: new Map([['code', 'categorical']]) });
    expect(forced.columns.code?.type).toBe('categorical');
    const report = await compareFiles(path('ref.csv'), path('words.csv'), { types: new Map([['age', 'numeric']]) });
    expect(report.columns.age).toMatchObject({ type: 'numeric', count_cur: 0, non_numeric_cur: 1, non_numeric_ref: 0 });
    expect(report.warnings).toContainEqual(expect.stringMatching(/^column "age" is numeric but 1 cells of .*words\.csv \(100\.0 %\) are not numbers, e\.g\. "old" at line 2/));
  });

  it('reads NDJSON (by extension or content), nulls and NA strings as missing, booleans as categories', async () => {
    const report = await compareFiles(path('cur.ndjson'), path('data.txt'), { minSamples: 1 });
    expect(report.columns.age).toMatchObject({ type: 'numeric', count_ref: 300, count_cur: 2 });
    expect(report.columns.note).toMatchObject({ count_ref: 0, missing_ref: 300, count_cur: 0, missing_cur: 2 });
    expect(report.schema).toEqual({ only_in_reference: ['city', 'flag'], only_in_current: ['x'] });
    const flag = await compareFiles(path('cur.ndjson'), path('cur.ndjson'));
    expect(flag.columns.flag?.type).toBe('categorical');
  });

  it('parses quoted commas, doubled quotes and line breaks inside quotes', async () => {
    const report = await compareFiles(path('quoted.csv'), path('quoted.csv'));
    expect(report.columns.name).toMatchObject({ type: 'categorical', count_ref: 2 });
    expect(report.columns.comment?.count_ref).toBe(2);
  });

  it('rejects ragged rows, missing headers, missing files and bad JSON with file and line', async () => {
    expect((await inputError(() => compareFiles(path('ragged.csv'), path('ref.csv')))).message).toBe(
      `${path('ragged.csv')}:4: expected 3 fields as in the header, found 2 (delimiter ",")`,
    );
    expect((await inputError(() => compareFiles(path('noheader.csv'), path('ref.csv')))).message).toMatch(/noheader\.csv:1: no header/);
    expect((await inputError(() => compareFiles(path('empty.csv'), path('ref.csv')))).message).toMatch(/empty\.csv: no header/);
    expect((await inputError(() => compareFiles(path('missing.csv'), path('ref.csv')))).message).toMatch(/cannot read .*missing\.csv/);
    expect((await inputError(() => compareFiles(path('badjson.ndjson'), path('ref.csv')))).message).toMatch(/badjson\.ndjson:2: not valid JSON/);
  });

  it('prints the brief JSON shape through the CLI, and an aligned table without --json', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      await buildProgram().parseAsync(['node', 'driftwatch', 'compare', path('ref.csv'), path('cur.csv'), '--json', '--type', 'code=categorical', '--min-samples', '100']);
    } finally {
      spy.mockRestore();
    }
    const json = JSON.parse(out.join('')) as { columns: Record<string, { type: string; count_ref: number; count_cur: number; drift: Record<string, number>; drifted: boolean }> };
    const age = json.columns.age;
    expect(age).toMatchObject({ type: 'numeric', count_ref: 400, count_cur: 400, drifted: true });
    for (const key of ['psi', 'ks', 'ks_p', 'js', 'wasserstein']) expect(typeof age?.drift[key]).toBe('number');
    expect(json.columns.code?.type).toBe('categorical');
    for (const key of ['js', 'linf', 'chi2_p']) expect(typeof json.columns.city?.drift[key]).toBe('number');

    const table = formatTable(await compareFiles(path('ref.csv'), path('cur.csv')));
    const rows = table.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^column\s+type\s+n_ref/);
    expect(rows).toHaveLength(5);
    const typeColumn = (rows[0] as string).indexOf('type');
    for (const row of rows.slice(1)) expect(row.slice(typeColumn)).toMatch(/^(numeric|categorical) /);
  });

  it('rejects a bad --type as usage', async () => {
    await expect(
      buildProgram().parseAsync(['node', 'driftwatch', 'compare', path('ref.csv'), path('cur.csv'), '--type', 'age=text']),
    ).rejects.toMatchObject({ code: 'DW_ERR_USAGE' });
  });
});
