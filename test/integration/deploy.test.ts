import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startWorker, type Worker } from '../../src/pipeline.ts';
import { parseDriftStep } from '../../src/produce/drift-spec.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC, type TrafficSpec } from '../../src/produce/traffic.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { startTelemetryServer, type TelemetryServer } from '../../src/telemetry/server.ts';
import { createTestTopics, ENDPOINTS, loadGeneratedBaselines, testKafka, testNames, testTopology, waitFor } from '../kit/index.ts';

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
}
interface Rule {
  alert: string;
  expr: string;
}

const dashboard = JSON.parse(readFileSync('deploy/grafana/driftwatch-dashboard.json', 'utf8')) as Dashboard;
const rules = (parseYaml(readFileSync('deploy/prometheus/driftwatch-rules.yml', 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);

/**
 * The dashboard's queries as Grafana sends them: $__rate_interval becomes a window Prometheus can rate
 * over, $predictor/$model the regex Grafana writes for the chosen values (".*" for All).
 */
function panelQueries(choice: { predictor: string; model: string }): { where: string; expr: string }[] {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}"`,
      expr: target.expr.replaceAll('$__rate_interval', '1m').replaceAll('$predictor', choice.predictor).replaceAll('$model', choice.model),
    })),
  );
}

/** Every series selector of an expression (a metric name and its matchers), e.g. `up` or `driftwatch_x{a="b"}`. */
function selectors(expr: string): string[] {
  return [...expr.matchAll(/\b(up|driftwatch_[a-z_]+)\b(\{[^}]*\})?/g)].map((match) => match[0]);
}

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

describe('deploy/: dashboards and alerting rules against a real Prometheus', () => {
  const names = testNames('deploy');
  const { topics } = names;
  // A classifier (scores, so log loss and AUC) with a drifted feature, and a regression model; both labeled.
  const classifier: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 3, predictor: 'eta', classes: ['fast', 'slow', 'late'] };
  const regression: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 4, predictor: 'price', numericFeatures: 4, categoricalFeatures: 1 };
  const labelSpec = { accuracy: 0.8, noise: 0.2, delayMs: { min: 200, max: 1000 } };
  const kafka = testKafka();
  const admin = kafka.admin();
  let worker: Worker;
  let state: SummaryState;
  let telemetry: TelemetryServer;
  let prometheus: ChildProcess;
  let prometheusUrl: string;

  beforeAll(async () => {
    await admin.connect();
    await createTestTopics(admin, topics, 1);
    const topology = testTopology(names, 'single', {
      sources: { start_from: 'earliest' },
      labels: { retry_interval: '500ms' },
      state: { retention: { fine: { bucket: '5s', keep: '1h' } } },
      windows: { current: [{ name: '15s', duration: '15s' }] },
      evaluation: { tick: '1s' },
    });
    state = openTopologyState(topology);
    await loadGeneratedBaselines(state, classifier, 10_000);
    const registry = createRegistry();
    worker = await startWorker({ topology, logger: createLogger('test', 'warn'), registry, workerId: 'deploy' });
    telemetry = await startTelemetryServer(registry, { host: '127.0.0.1', port: 0, ready: () => worker.ready() });

    const dir = mkdtempSync(join(tmpdir(), 'dw-prometheus-'));
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        `rule_files: ["${resolve('deploy/prometheus/driftwatch-rules.yml')}"]`,
        'scrape_configs:',
        '  - job_name: driftwatch',
        `    static_configs: [{ targets: ["127.0.0.1:${telemetry.port}"] }]`,
      ].join('\n'),
    );
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: 'ignore',
    });
  });

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    await worker?.stop();
    await telemetry?.close();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
    await state?.admin.purge();
    await state?.close();
  });

  it('every query of the dashboard (its variables substituted) and every series the rules read returns data', async () => {
    // Traffic that makes every series exist: a drifted feature (firing alert), errors, labels, a dead letter.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.predictions, messages: [{ value: Buffer.from('not an event') }] });
    await producer.disconnect();
    const traffic = (spec: TrafficSpec, seed: number, drift: string[], deployments: TrafficSpec['deployments'] = []) =>
      produceTraffic({
        brokers: ENDPOINTS.brokers,
        registryUrl: ENDPOINTS.registryUrl,
        topic: topics.predictions,
        encoding: 'mixed',
        rate: 250,
        durationMs: 25_000,
        spec: { ...spec, drift: drift.map(parseDriftStep), deployments },
        labels: { topic: topics.labels, spec: { ...labelSpec, seed } },
      });
    // A canary beside the classifier's primary: the comparison row's series.
    await Promise.all([traffic(classifier, 3, ['n2:mean+2sd@3s'], [{ model: 'eta-v2', role: 'canary', share: 0.1 }]), traffic(regression, 4, [])]);

    const query = async (expr: string) => {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string> }[] } };
      if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
      return body.data!.result;
    };
    await waitFor('Prometheus to scrape the worker', async () => ((await query('up{job="driftwatch"}')).length > 0 ? true : undefined), 30_000, 500);
    await waitFor('a firing alert to be scraped', async () => ((await query('driftwatch_alerts_firing')).length > 0 ? true : undefined), 30_000, 500);
    await waitFor('both models\' performance to be scraped', async () => ((await query('count(count by (predictor) (driftwatch_model_performance))'))[0] ? true : undefined), 30_000, 500);

    // "All" selected: every panel has data.
    const empty: string[] = [];
    for (const { where, expr } of panelQueries({ predictor: '.*', model: '.*' })) {
      if ((await query(expr)).length === 0) empty.push(`${where}: ${expr}`);
    }
    // Every rule is valid PromQL, and every series it reads exists (its condition is false while all is well).
    for (const rule of rules) {
      await query(rule.expr);
      for (const selector of selectors(rule.expr)) if ((await query(selector)).length === 0) empty.push(`alert ${rule.alert}: ${selector}`);
    }
    expect(empty).toEqual([]);
  });

  it('the predictor and model variables list what the workers see and drill down to one model', async () => {
    const labelValues = async (label: string, match: string) => {
      const response = await fetch(`${prometheusUrl}/api/v1/label/${label}/values?match[]=${encodeURIComponent(match)}`);
      return ((await response.json()) as { data: string[] }).data;
    };
    // Grafana's label_values(metric{…}, label) is Prometheus's label values API with that match.
    const definition = (name: string) => dashboard.templating.list.find((variable) => variable.name === name)?.definition ?? '';
    const [, predictorMatch = '', predictorLabel = ''] = /^label_values\((.+), (\w+)\)$/.exec(definition('predictor')) ?? [];
    expect(await labelValues(predictorLabel, predictorMatch)).toEqual(['eta', 'price']);
    const [, modelMatch = '', modelLabel = ''] = /^label_values\((.+), (\w+)\)$/.exec(definition('model')) ?? [];
    expect(await labelValues(modelLabel, modelMatch.replace('$predictor', 'price'))).toEqual(['price-v1']);

    const query = async (expr: string) => {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      return ((await response.json()) as { data: { result: { metric: Record<string, string> }[] } }).data.result;
    };
    // One model picked: model-level panels show that model only; its kind of performance has data.
    const withData = new Set<string>();
    for (const { where, expr } of panelQueries({ predictor: 'price', model: 'price-v1' })) {
      for (const series of await query(expr)) {
        withData.add(where);
        if (series.metric['predictor'] !== undefined) expect({ where, predictor: series.metric['predictor'], model: series.metric['model'] }).toEqual({ where, predictor: 'price', model: 'price-v1' });
      }
    }
    expect(withData).toContain('panel "Regression: MAE, RMSE, bias"');
    expect(withData).not.toContain('panel "Classification: accuracy, F1, AUC"');
    expect(withData).toContain('panel "Events/s by model and outcome"');
  });
});
