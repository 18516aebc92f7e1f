import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { modelKey } from '../aggregate/index.ts';
import { buildBaseline } from '../baseline/build.ts';
import { loadTopology, type Topology } from '../config/topology.ts';
import { DriftwatchError } from '../errors.ts';
import type { AlertEvent } from '../evaluate/alert-event.ts';
import type { VerdictEvent } from '../evaluate/verdict-event.ts';
import { startWorker } from '../pipeline.ts';
import { parseDriftStep } from '../produce/drift-spec.ts';
import { produceTraffic } from '../produce/producer.ts';
import { numericFeatureName, categoricalFeatureName, TrafficGenerator, type TrafficSpec } from '../produce/traffic.ts';
import { buildStatus, type StatusReport } from '../report/status.ts';
import { ModelReader } from '../runtime/model-reader.ts';
import { openTopologyState } from '../runtime/state.ts';
import { decodeAlertEvent } from '../sinks/alerts.ts';
import { kafkaClient } from '../sources/kafka/client.ts';
import { decodeVerdictEvent } from '../sinks/verdicts.ts';
import { stackUp } from '../stack/index.ts';
import { createLogger } from '../telemetry/logger.ts';
import { createRegistry } from '../telemetry/metrics.ts';
import { startTelemetryServer, type TelemetryServer } from '../telemetry/server.ts';
import { demoLog } from './log.ts';
import { scenarioTraffic, type DemoScenario } from './scenarios.ts';
import { renderFrame } from './view.ts';

export interface DemoOptions {
  topologyFile: string;
  /** Exit 0 once every incident fired has resolved (automated runs); exit 1 at the timeout. */
  once: boolean;
  timeoutMs: number;
  rate: number;
  drift: string[];
  out: NodeJS.WriteStream;
  /** drift (default) or canary (demo/scenarios.ts). */
  scenario?: DemoScenario;
}

const DEFAULT_DRIFT = ['n3:mean+1sd@30s-90s'];

/** Training data for the demo model, written as CSV and loaded through `baseline load`'s code path. */
function writeTrainingCsv(path: string, spec: TrafficSpec, rows: number): void {
  const generator = new TrafficGenerator({ ...spec, drift: [], seed: spec.seed + 1000 });
  const columns = [
    ...Array.from({ length: spec.numericFeatures }, (_, i) => numericFeatureName(i)),
    ...Array.from({ length: spec.categoricalFeatures }, (_, i) => categoricalFeatureName(i)),
  ];
  const lines = [[...columns, 'prediction', 'latency_ms', 'error'].join(',')];
  for (let i = 0; i < rows; i++) {
    const event = generator.next(0, 0);
    const cells = columns.map((column) => {
      const value = event.features[column];
      return value === null || value === undefined ? '' : String(value);
    });
    lines.push([...cells, String(event.prediction ?? ''), String(event.latency_ms ?? ''), event.error ?? ''].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/**
 * `npm run demo`: the local stack, a baseline from generated training data, one worker, a producer
 * with a scheduled drift, and a live view of what driftwatch sees and alerts on.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const say = (line: string) => options.out.write(`${line}\n`);
  say('driftwatch demo: bringing the local stack up (the first time installs Kafka, Redis and the schema registry: a few minutes)…');
  const stack = await stackUp({ progress: (message) => say(`  ${message}`) });
  return runDemoLive(options, stack.stackDir);
}

/** The demo on a running stack: baseline, worker, producer and the live view (runDemo brings the stack up first). */
export async function runDemoLive(options: DemoOptions, stackDir: string): Promise<number> {
  const say = (line: string) => options.out.write(`${line}\n`);
  const tty = options.out.isTTY === true;
  const topology: Topology = loadTopology(options.topologyFile);
  const scenario = options.scenario ?? 'drift';
  const traffic = scenarioTraffic(scenario);
  const spec: TrafficSpec = traffic.spec;
  const driftSteps = scenario === 'canary' ? [] : (options.drift.length > 0 ? options.drift : DEFAULT_DRIFT).map(parseDriftStep);

  const state = openTopologyState(topology);
  await state.admin.purge();
  // A fresh start: the state is cleared, so the group's old offsets go too (it then starts at the end).
  const quiet = createLogger('driftwatch-demo', 'silent');
  const admin = kafkaClient(topology.sources, quiet, 'driftwatch-demo-admin').admin();
  await admin.connect();
  await admin.deleteGroups([topology.sources.group_id]).catch(() => undefined);
  await admin.disconnect();
  const dataDir = join(stackDir, 'demo');
  mkdirSync(dataDir, { recursive: true });
  const trainingFile = join(dataDir, 'training.csv');
  writeTrainingCsv(trainingFile, spec, 20_000);
  for (let i = 0; i < spec.models; i++) {
    const model = `${spec.predictor}-v${i + 1}`;
    const { summary, rows } = await buildBaseline(trainingFile, { predictor: spec.predictor, model, maxFeatures: 200, maxCategories: 100 });
    await state.baselines.save(modelKey(spec.predictor, model), summary.encode(), { predictor: spec.predictor, model });
    say(`loaded a baseline for ${spec.predictor}/${model} from ${rows.toLocaleString('en-US')} training rows (${trainingFile})`);
  }

  // Every log line goes to the file; the live view shows only what needs the user (see ./log.ts).
  const warnings: string[] = [];
  const log = demoLog(join(dataDir, 'demo.log'), (line) => {
    if (!tty) process.stderr.write(`${line}\n`);
    else if (warnings.push(line) > 5) warnings.shift();
  });
  say(`logs: ${log.file}`);
  const logger = log.logger;
  const registry = createRegistry();
  const worker = await startWorker({ topology, logger, registry, workerId: 'demo' });
  let telemetry: TelemetryServer;
  try {
    telemetry = await startTelemetryServer(registry, { host: '127.0.0.1', port: topology.sinks.metrics.port, ready: () => worker.ready() });
  } catch {
    telemetry = await startTelemetryServer(registry, { host: '127.0.0.1', port: 0, ready: () => worker.ready() });
  }
  const metricsUrl = `http://127.0.0.1:${telemetry.port}/metrics`;

  // Alert events as any consumer of the topic sees them.
  const kafka = kafkaClient(topology.sources, quiet, 'driftwatch-demo-view');
  const alertConsumer = kafka.consumer({ groupId: `driftwatch-demo-view-${process.pid}-${Date.now()}` });
  const events: AlertEvent[] = [];
  await alertConsumer.connect();
  await alertConsumer.subscribe({ topics: [topology.sinks.alerts_topic], fromBeginning: false });
  await alertConsumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const event = decodeAlertEvent(message.value);
      if (event.predictor_name === spec.predictor) {
        events.push(event);
        if (!tty) say(`${event.state.toUpperCase()}: ${event.summary}`);
      }
    },
  });
  // Verdict events (shadow and canary models) too.
  const verdicts: VerdictEvent[] = [];
  const verdictConsumer = kafka.consumer({ groupId: `driftwatch-demo-verdicts-${process.pid}-${Date.now()}` });
  await verdictConsumer.connect();
  await verdictConsumer.subscribe({ topics: [topology.sinks.verdicts_topic], fromBeginning: false });
  await verdictConsumer.run({
    eachMessage: async ({ message }) => {
      if (!message.value) return;
      const verdict = decodeVerdictEvent(message.value);
      if (verdict.predictor_name !== spec.predictor) return;
      verdicts.push(verdict);
      if (!tty) say(`VERDICT ${verdict.decision.toUpperCase()}: ${verdict.reason}`);
    },
  });
  await sleep(1500); // let the worker and the view join their groups before traffic starts

  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  let sent = 0;
  const producing = produceTraffic({
    brokers: topology.sources.brokers,
    registryUrl: topology.sources.registry_url,
    security: topology.sources,
    topic: topology.sources.predictions.topics?.[0] ?? 'predictions',
    encoding: 'mixed',
    rate: options.rate,
    spec: { ...spec, drift: driftSteps },
    ...(traffic.labels ? { labels: { topic: topology.sources.labels.topics?.[0] ?? 'labels', spec: traffic.labels } } : {}),
    signal: controller.signal,
    logger,
    onProgress: (progress) => {
      sent = progress.sent;
    },
  });
  producing.catch(() => controller.abort());

  const reader = new ModelReader(state, topology, { cacheReferences: false });
  const window = topology.windows.current[0]!;
  let exitCode = 0;
  let lastLine = 0;
  const schedule = scenario === 'canary' ? traffic.schedule : (options.drift.length > 0 ? options.drift : DEFAULT_DRIFT).join(', ');
  while (!controller.signal.aborted) {
    const now = Date.now();
    let status: StatusReport | undefined;
    try {
      status = await buildStatus(state, reader, now, window);
    } catch {
      status = undefined;
    }
    const frame = {
      elapsedMs: now - started,
      sent,
      eventsPerSecond: sent / Math.max(1, (now - started) / 1000),
      schedule,
      status,
      events,
      verdicts,
      metricsUrl,
      alertsTopic: topology.sinks.alerts_topic,
      warnings,
      logFile: log.file,
    };
    if (tty) options.out.write(`\x1b[2J\x1b[H${renderFrame(frame)}\n`);
    else if (now - lastLine >= 10_000) {
      lastLine = now;
      const firing = status?.alerts.filter((alert) => alert.state === 'firing').length ?? 0;
      say(`${Math.round((now - started) / 1000)}s: ${sent} events sent, ${firing} alerts firing`);
    }
    if (options.once && scenario === 'canary') {
      const rollback = verdicts.find((verdict) => verdict.decision === 'rollback');
      if (rollback) {
        say(`demo complete: ${rollback.predictor_name}/${rollback.candidate_model_id} rolled back after ${rollback.evidence['candidate.labeled']} labels`);
        break;
      }
      if (now - started > options.timeoutMs) {
        say(`demo timed out after ${options.timeoutMs / 1000}s without a rollback verdict`);
        exitCode = 1;
        break;
      }
    } else if (options.once) {
      const fired = new Set(events.filter((event) => event.state === 'firing').map((event) => event.id));
      const resolved = new Set(events.filter((event) => event.state === 'resolved').map((event) => event.id));
      if (fired.size > 0 && [...fired].every((id) => resolved.has(id))) {
        say(`demo complete: ${fired.size} incident(s) fired and resolved`);
        break;
      }
      if (now - started > options.timeoutMs) {
        say(`demo timed out after ${options.timeoutMs / 1000}s: ${fired.size} fired, ${resolved.size} resolved`);
        exitCode = 1;
        break;
      }
    }
    await sleep(1000);
  }

  controller.abort();
  await producing.catch(() => undefined);
  await alertConsumer.disconnect();
  await verdictConsumer.disconnect();
  await worker.stop();
  await telemetry.close();
  await state.close();
  log.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  say(`demo stopped (full log: ${log.file}).`);
  say(`The stack keeps running: \`npx driftwatch stack down\` stops it; \`npx driftwatch status --topology ${options.topologyFile}\` shows the state.`);
  if (exitCode !== 0) throw new DriftwatchError('DW_ERR_INTERNAL', scenario === 'canary' ? 'the demo did not see the canary rolled back in time' : 'the demo did not see every alert fire and resolve in time');
  return exitCode;
}
