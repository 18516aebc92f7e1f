import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareFiles } from '../../../src/compare/index.ts';
import { effectiveRules, parseTopology } from '../../../src/config/topology.ts';
import { RuleBook } from '../../../src/evaluate/rules.ts';
import { createRandom } from '../../../src/random.ts';

const run = promisify(execFile);
let dir = '';
const path = (name: string) => join(dir, name);

/** A CSV of `rows` rows: x from `draw`, c a category with the given shares. */
async function csv(name: string, rows: number, seed: number, draw: (r: ReturnType<typeof createRandom>) => number, shares = [0.5, 0.3, 0.2]) {
  const r = createRandom(seed);
  const lines = ['x,c'];
  for (let i = 0; i < rows; i++) {
    let u = r.next();
    const c = shares.findIndex((share) => (u -= share) < 0);
    lines.push(`${draw(r)},k${c < 0 ? shares.length - 1 : c}`);
  }
  await writeFile(path(name), `${lines.join('\n')}\n`);
}

const lognormal = (mu: number, sigma: number) => (r: ReturnType<typeof createRandom>) => Math.exp(mu + sigma * r.normal());

/** The CLI as users run it (bin/driftwatch.js), for its exit code. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/driftwatch.js', 'compare', ...args], { encoding: 'utf8' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'driftwatch-verdict-'));
  // The example: a change of spread and shape that KS (0.07) misses.
  await csv('lognormal-ref.csv', 20_000, 1, lognormal(0, 1));
  await csv('lognormal-cur.csv', 15_000, 2, lognormal(0.1, 1.2));
  await csv('same-a.csv', 20_000, 3, lognormal(0, 1));
  await csv('same-b.csv', 15_000, 4, lognormal(0, 1));
  await csv('shares.csv', 15_000, 5, lognormal(0, 1), [0.3, 0.3, 0.4]);
  await writeFile(path('strict.yaml'), 'rules:\n  overrides:\n    - { rule: feature-shape-drift, match: { feature: x }, above: 0.9, clear: 0.5 }\n');
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compare gives the monitor\'s verdict', () => {
  it("lognormal(0, 1) vs lognormal(0.1, 1.2), 20k/15k rows: drifted, by the shape rule, with the reading that fired it", async () => {
    const report = await compareFiles(path('lognormal-ref.csv'), path('lognormal-cur.csv'));
    const x = report.columns.x!;
    expect(x.drift.ks).toBeLessThan(0.1);
    expect(x).toMatchObject({ type: 'numeric', count_ref: 20_000, count_cur: 15_000, drifted: true, insufficient: false });
    expect(x.fired).toEqual([
      expect.objectContaining({ rule: 'feature-shape-drift', statistic: 'shape', threshold: 0.25, direction: 'above', significance: 1e-8 }),
    ]);
    expect(x.fired[0]!.value).toBeGreaterThan(0.35);
    expect(x.fired[0]!.p_value).toBeLessThan(1e-8);
    expect(x.reasons[0]).toMatch(/^feature-shape-drift: shape 0\.\d{3} above 0\.250 with ad_p \d\.\de-\d+ < 1e-8$/);
    expect(report.columns.c).toMatchObject({ drifted: false, fired: [] });
  });

  it('two samples of the same distribution are not drifted', async () => {
    const report = await compareFiles(path('same-a.csv'), path('same-b.csv'));
    expect(report.columns.x).toMatchObject({ drifted: false, insufficient: false, fired: [], reasons: ['no rule fired'] });
    expect(report.columns.c).toMatchObject({ drifted: false, insufficient: false, fired: [] });
  });

  it("applies a topology's rules and overrides, matched by --predictor/--model globs", async () => {
    const topology = parseTopology({ rules: { overrides: [{ rule: 'feature-shape-drift', match: { predictor: 'eta' }, above: 0.9, clear: 0.5 }] } });
    const rules = new RuleBook(effectiveRules(topology), topology.rules.overrides);
    const forEta = await compareFiles(path('lognormal-ref.csv'), path('lognormal-cur.csv'), { rules, series: { predictor: 'eta', model: 'v1' } });
    expect(forEta.columns.x).toMatchObject({ drifted: false, fired: [] });
    const forOther = await compareFiles(path('lognormal-ref.csv'), path('lognormal-cur.csv'), { rules, series: { predictor: 'other', model: 'v1' } });
    expect(forOther.columns.x?.drifted).toBe(true);
  });

  it('--fail-on-drift exits 3 when a column drifted, 0 when none did; without it, 0 either way', async () => {
    const drifted = await cli(path('lognormal-ref.csv'), path('lognormal-cur.csv'), '--fail-on-drift', '--json');
    expect(drifted.code, drifted.stderr).toBe(3);
    const json = JSON.parse(drifted.stdout) as { columns: Record<string, { drifted: boolean; fired: { rule: string }[] }> };
    expect(json.columns.x).toMatchObject({ drifted: true, fired: [{ rule: 'feature-shape-drift' }] });
    expect((await cli(path('same-a.csv'), path('same-b.csv'), '--fail-on-drift')).code).toBe(0);
    expect((await cli(path('lognormal-ref.csv'), path('lognormal-cur.csv'))).code).toBe(0);
    // The category shares moved (k0 50 → 30 %): category-drift fires on c.
    const shares = await cli(path('same-a.csv'), path('shares.csv'), '--fail-on-drift', '--json');
    expect(shares.code).toBe(3);
    expect((JSON.parse(shares.stdout) as { columns: Record<string, { fired: { rule: string }[] }> }).columns.c?.fired.map((f) => f.rule)).toEqual(['category-drift']);
    // --topology: an override that raises the shape threshold for x: no drift, exit 0.
    expect((await cli(path('lognormal-ref.csv'), path('lognormal-cur.csv'), '--fail-on-drift', '--topology', path('strict.yaml'))).code).toBe(0);
    // Errors keep their codes: a bad topology is 2, not 3.
    const bad = await cli(path('lognormal-ref.csv'), path('lognormal-cur.csv'), '--fail-on-drift', '--topology', path('missing.yaml'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cannot read topology/);
  }, 60_000);
});
