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
import { DEFAULT_TRAFFIC } from '../../src/produce/traffic.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { startTelemetryServer, type TelemetryServer } from '../../src/telemetry/server.ts';
import { createTestTopics, ENDPOINTS, loadGeneratedBaselines, testKafka, testNames, testTopology, waitFor } from '../kit/index.ts';

/** Every PromQL expression shipped in deploy/: the Grafana panels' and the alerting rules'. */
function shippedExpressions(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync('deploy/grafana/driftwatch-dashboard.json', 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  const rules = parseYaml(readFileSync('deploy/prometheus/driftwatch-rules.yml', 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return [
    ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr }))),
    // An alert's condition is false while all is well; its left-hand side must still have data.
    ...rules.groups.flatMap((group) => group.rules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr.replace(/\s*(==|!=|>=|<=|>|<)\s*[-+0-9.e]+\s*$/, '') }))),
  ];
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
      state: { retention: { fine: { bucket: '5s', keep: '1h' } } },
      windows: { current: [{ name: '15s', duration: '15s' }] },
      evaluation: { tick: '1s' },
    });
    state = openTopologyState(topology);
    await loadGeneratedBaselines(state, { ...DEFAULT_TRAFFIC, seed: 3 }, 10_000);
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

  it('every PromQL expression of the dashboard and the rules returns data', async () => {
    // Traffic that makes every series exist: a drifted feature (firing alert), errors, a dead letter.
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.predictions, messages: [{ value: Buffer.from('not an event') }] });
    await producer.disconnect();
    await produceTraffic({
      brokers: ENDPOINTS.brokers,
      registryUrl: ENDPOINTS.registryUrl,
      topic: topics.predictions,
      encoding: 'mixed',
      rate: 300,
      durationMs: 25_000,
      spec: { ...DEFAULT_TRAFFIC, seed: 3, drift: [parseDriftStep('n2:mean+2sd@3s')], deployments: [{ model: 'eta-v2', role: 'canary', share: 0.1 }] },
      // Labels (and a canary beside the primary) for the comparison row's series.
      labels: { topic: topics.labels, spec: { seed: 3, accuracy: 0.9, noise: 0.1, delayMs: { min: 500, max: 1000 } } },
    });

    const query = async (expr: string) => {
      const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
      if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
      return body.data!.result;
    };
    await waitFor('Prometheus to scrape the worker', async () => ((await query('up{job="driftwatch"}')).length > 0 ? true : undefined), 30_000, 500);
    await waitFor('a firing alert to be scraped', async () => ((await query('driftwatch_alerts_firing')).length > 0 ? true : undefined), 30_000, 500);

    const empty: string[] = [];
    for (const { where, expr } of shippedExpressions()) {
      if ((await query(expr)).length === 0) empty.push(`${where}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });
});
