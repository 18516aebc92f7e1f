import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

interface Target {
  expr: string;
  legendFormat?: string;
}
interface Panel {
  type: string;
  title: string;
  targets?: Target[];
  options?: { legend?: { showLegend?: boolean } };
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; multi?: boolean; includeAll?: boolean; allValue?: string; query?: unknown }[] };
}
interface Rule {
  alert: string;
  expr: string;
  annotations: Record<string, string>;
}

const dashboard = JSON.parse(readFileSync('deploy/grafana/driftwatch-dashboard.json', 'utf8')) as Dashboard;
const rules = (parseYaml(readFileSync('deploy/prometheus/driftwatch-rules.yml', 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
const runbook = readFileSync('docs/runbook.md', 'utf8');

/** Panels under each row, by the row's title. */
function panelsByRow(): Map<string, Panel[]> {
  const rows = new Map<string, Panel[]>();
  let current = '';
  for (const panel of dashboard.panels) {
    if (panel.type === 'row') rows.set((current = panel.title), []);
    else rows.get(current)?.push(panel);
  }
  return rows;
}

/** GitHub's heading anchors: lower case, spaces to dashes, other punctuation dropped. */
const anchors = new Set([...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((match) => match[1]!.toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));

describe('Grafana dashboard', () => {
  const panels = dashboard.panels.filter((panel) => panel.type !== 'row');

  it('has predictor and model variables (multi-value, All) chained for drill-down', () => {
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]));
    for (const name of ['predictor', 'model']) expect(variables.get(name)).toMatchObject({ type: 'query', multi: true, includeAll: true, allValue: '.*' });
    expect(JSON.stringify(variables.get('model')?.query)).toContain('predictor=~\\"$predictor\\"');
  });

  it('filters every model-level panel by both variables', () => {
    const modelRows = [...panelsByRow()].filter(([title]) => title.includes('$predictor'));
    expect(modelRows.map(([title]) => title)).toEqual(['Models ($predictor / $model)', 'Features ($predictor / $model)', 'Online performance ($predictor / $model)']);
    for (const [, rowPanels] of modelRows) {
      for (const panel of rowPanels) for (const target of panel.targets ?? []) expect(target.expr, panel.title).toContain('predictor=~"$predictor", model=~"$model"');
    }
  });

  it('gives every query a legend and shows it, and rates over $__rate_interval, never a fixed window', () => {
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.legendFormat ?? '', panel.title).not.toBe('');
        for (const range of target.expr.matchAll(/\[([^\]]+)\]/g)) expect(range[1], `${panel.title}: ${target.expr}`).toBe('$__rate_interval');
      }
      if (panel.type === 'timeseries') expect(panel.options?.legend?.showLegend, panel.title).toBe(true);
    }
  });

  it('shows online performance, labels and the memory floor', () => {
    const exprs = panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)).join('\n');
    for (const metric of ['driftwatch_model_performance', 'driftwatch_labels_total', 'driftwatch_labels_pending', 'driftwatch_process_live_bytes_after_gc']) expect(exprs).toContain(metric);
  });
});

describe('Prometheus rules', () => {
  it('link every alert to its own section of docs/runbook.md, one section per alert', () => {
    for (const rule of rules) {
      const url = rule.annotations['runbook_url'] ?? '';
      expect(url, rule.alert).toMatch(/\/docs\/runbook\.md#[a-z0-9-]+$/);
      expect(anchors.has(url.split('#')[1]!), `${rule.alert}: ${url}`).toBe(true);
      expect(url.split('#')[1], rule.alert).toBe(rule.alert.toLowerCase());
    }
    expect([...anchors].sort()).toEqual(rules.map((rule) => rule.alert.toLowerCase()).sort());
  });

  it('select workers by metric name, never by job, and alert when every worker is gone', () => {
    for (const rule of rules) expect(rule.expr, rule.alert).not.toMatch(/\bjob\s*=/);
    expect(rules.some((rule) => /^absent\(driftwatch_/.test(rule.expr))).toBe(true);
  });
});
