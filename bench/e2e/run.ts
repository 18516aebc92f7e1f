/**
 * End-to-end benchmark against the real local stack (`driftwatch stack up`): ingest, state size,
 * evaluation, detection delay, false alerts and worker RSS, each phase in its own process with its own
 * topics, consumer groups and Redis key prefix, all deleted afterwards.
 *
 *   npm run bench              full run (~10–15 min on 2 cores)  → bench/results/e2e.json
 *   npm run bench -- --quick   smaller sizes (< 3 min)           → bench/results/e2e-quick.json
 *   options: --only=ingest,state,evaluation,detection,false-alerts,realtime   --profile / --no-profile
 *            --no-wait (do not wait for other processes to go quiet before each measurement)
 *
 * Then `npm run bench:doc` rewrites the "End-to-end" section of BENCH.md from the JSON.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ENDPOINTS } from '../../test/kit/index.ts';
import { BROKERS, benchKafka, busyProcesses, cpuSince, cpuSnapshot, machineInfo, stealSince, namesFor, otherLoad, REDIS_URL, REGISTRY_URL, round, sweepRun } from './common.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
// CPU profiles of the ingest worker (two extra runs): on in the full run, off in the quick one unless asked.
const profile = args.includes('--profile') || (!quick && !args.includes('--no-profile'));
// Before each measurement, wait (up to a budget) for other work on the machine to calm down.
const waitForQuiet = !args.includes('--no-wait');
const unknown = args.filter((arg) => !['--quick', '--profile', '--no-profile', '--no-wait'].includes(arg) && !arg.startsWith('--only='));
if (unknown.length > 0) {
  console.error(`unknown option(s) ${unknown.join(' ')}; usage: npm run bench [-- --quick] [--only=ingest,state,evaluation,detection,false-alerts,realtime] [--profile | --no-profile] [--no-wait]`);
  process.exit(2);
}

const CONFIG = quick
  ? {
      ingest: { events: 200_000, models: 10, profileSeconds: 6 },
      state: { models: 2, ratePerModel: 100, schedule: { kind: 'tail', tailEvents: 1 }, evaluate: true },
      stateSensitivity: undefined,
      evaluation: { models: 200, numeric: 40, categorical: 10, templates: 10 },
      detection: { sigmas: [0.5, 1, 2], offsets: [3, 18, 36, 51] },
      falseAlerts: { models: 50, ratePerModel: 10, simulatedSeconds: 300 },
      realtime: false,
    }
  : {
      ingest: { events: 1_000_000, models: 10, profileSeconds: 12 },
      state: { models: 4, ratePerModel: 100, schedule: { kind: 'tail', tailEvents: 1 }, evaluate: true },
      stateSensitivity: { models: 2, ratePerModel: 100, schedule: { kind: 'uniform', batchMs: 1000 }, evaluate: true },
      evaluation: { models: 1000, numeric: 40, categorical: 10, templates: 10 },
      detection: { sigmas: [0.5, 1, 2], offsets: [3, 13, 27, 36, 44, 51] },
      falseAlerts: { models: 50, ratePerModel: 10, simulatedSeconds: 3600 },
      realtime: true,
    };

const runId = randomBytes(4).toString('hex');
const children = new Set<ChildProcess>();
const wanted = (phase: string) => !only || only.includes(phase);

let waitBudgetMs = quick ? 60_000 : 240_000;

/** Waits until processes outside the stack use less than a quarter of a core, within the remaining budget. */
async function quiet(label: string): Promise<number> {
  if (!waitForQuiet) return 0;
  const started = performance.now();
  for (;;) {
    const busy = await busyProcesses(1500, 10);
    const load = otherLoad(busy);
    const waited = performance.now() - started;
    if (load < 25 || waited >= waitBudgetMs) {
      waitBudgetMs -= waited;
      if (load >= 25) log(`${label}: still busy (${busy.filter((p) => p.kind === 'other').map((p) => `${p.cpu_percent}% ${p.command.slice(0, 50)}`).join('; ')}), wait budget spent: measuring anyway`);
      return Math.round(waited / 1000);
    }
    if (waited === 0 || Math.round(waited / 1000) % 15 < 2) log(`${label}: waiting for other work to finish (${busy.filter((p) => p.kind === 'other').map((p) => `${p.cpu_percent}% ${p.command.slice(0, 50)}`).join('; ')})`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

/**
 * Runs a phase in a fresh Node process (tsx loader) and returns its result, with `load_during`: the
 * other processes that were busy meanwhile (the stack's, and anything else on the machine).
 */
async function inChild<T>(phase: string, params: unknown): Promise<T> {
  const waited = await quiet(phase);
  const snapshot = cpuSnapshot();
  return new Promise((resolve, reject) => {
    const child = fork(join(here, 'child.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    let settled = false;
    child.once('message', (message: { ok: boolean; result?: T; error?: string }) => {
      settled = true;
      const load = cpuSince(snapshot, new Set([process.pid, child.pid ?? -1]));
      if (message.ok) resolve({ ...(message.result as T), waited_for_quiet_s: waited, other_cpu_percent: otherLoad(load), steal_percent: stealSince(snapshot), load_during: load });
      else reject(new Error(`${phase}: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (!settled) reject(new Error(`${phase}: the process exited (${signal ?? code}) without a result`));
    });
    child.send({ phase, params });
  });
}

process.once('SIGINT', () => {
  console.error('\ninterrupted: stopping the phase and cleaning up');
  for (const child of children) if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  void sweepRun(runId).finally(() => process.exit(130));
});

const log = (text: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${text}`);

async function preflight(): Promise<string> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    const admin = benchKafka(`bench-${runId}-preflight`).admin();
    await admin.connect();
    await admin.listTopics();
    await admin.disconnect();
    const response = await fetch(`${REGISTRY_URL}/subjects`);
    if (!response.ok) throw new Error(`registry answered ${response.status}`);
    return version;
  } catch (error) {
    throw new Error(`the local stack is not reachable (Kafka ${BROKERS.join(',')}, ${REDIS_URL}, ${REGISTRY_URL}): ${String(error)}. Start it: npx driftwatch stack up`);
  } finally {
    redis.disconnect();
  }
}

function gitState(): { commit: string; src_changed_files: number } | undefined {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src', 'schemas'], { encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, src_changed_files: changed };
  } catch {
    return undefined;
  }
}

function otherTestProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-fa', 'vitest'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface BarRow {
  id: string;
  figure: string;
  value: number | null;
  display: string;
  bar: string;
  met: boolean | null;
  /** CPU (% of a core) other processes than the stack took while this was measured. */
  other_load?: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const busyNote = (result: Json) => (result?.other_cpu_percent >= 25 ? ` (other processes took ${result.other_cpu_percent} % of a core meanwhile)` : '');

function barRows(results: Record<string, Json>): BarRow[] {
  const rows: BarRow[] = [];
  const ingest = results['ingest'];
  if (ingest && !ingest.error) {
    for (const [key, label] of [
      ['worker_labels_on', 'Ingest, one worker, labels join on (default topology), single Redis'],
      ['worker_labels_off', 'Ingest, one worker, labels.enabled: false, single Redis'],
      ['worker_labels_on_cluster', 'Ingest, one worker, labels join on, 3-master Redis Cluster'],
      ['worker_labels_off_cluster', 'Ingest, one worker, labels.enabled: false, 3-master Redis Cluster'],
      ['worker_labels_on_one_thread', 'Ingest, one worker, labels join on, single Redis, sources.planning_thread: false'],
    ] as const) {
      const run = ingest[key];
      if (run) {
        rows.push({ id: `ingest-${key}`, figure: label, value: run.events_per_s, display: `${fmt(run.events_per_s)} events/s`, bar: '≥ 100,000 events/s per worker process', met: run.events_per_s >= 100_000 && run.exact === true, other_load: run.other_cpu_percent });
        rows.push({ id: `redis-cpu-${key}`, figure: `Redis CPU per event (INFO cpu, all masters): ${label.replace('Ingest, one worker, ', '')}`, value: run.redis_cpu_us_per_event, display: `${run.redis_cpu_us_per_event} µs (scripts ${run.redis_script_us_per_event} µs)`, bar: 'reported: bounds the fleet per Redis core', met: null });
      }
    }
    for (const [key, label] of [
      ['decode', 'Decode-only loop (kafkajs + decodeValue + validatePrediction), same run'],
      ['aggregate', 'Decode + aggregate + encode deltas, no Redis'],
      ['fetch', 'kafkajs fetch alone (no decode)'],
    ] as const) {
      const run = ingest[key];
      if (run) rows.push({ id: `ingest-${key}`, figure: label, value: run.events_per_s, display: `${fmt(run.events_per_s)} events/s`, bar: 'reported beside ingest', met: null, other_load: run.other_cpu_percent });
    }
  }
  const state = results['state'];
  if (state && !state.error) {
    rows.push({ id: 'state', figure: 'Redis memory per feature series, default retention (100 events/s per model, small batches, worker evaluating)', value: state.kib_per_series, display: `${state.kib_per_series} KiB`, bar: '≤ 256 KiB', met: state.kib_per_series <= 256 });
  }
  const coarseBatches = results['state_one_second_batches'];
  if (coarseBatches && !coarseBatches.error) {
    rows.push({ id: 'state-1s', figure: 'Same, if every batch carried ~1 s of traffic (100 events per model per delta)', value: coarseBatches.kib_per_series, display: `${coarseBatches.kib_per_series} KiB`, bar: 'sensitivity (≤ 256 KiB)', met: null });
  }
  for (const [suffix, where, evaluation] of [['', '', results['evaluation']], ['-cluster', ', Redis Cluster', results['evaluation_cluster']]] as const) {
    if (!evaluation || evaluation.error) continue;
    const label = `one worker, one tick, ${evaluation.features_per_model} features per model${where}`;
    rows.push({ id: `evaluation-cold${suffix}`, figure: `Evaluation: ${label} (first tick, cold)`, value: evaluation.tick_seconds_cold, display: `${evaluation.tick_seconds_cold} s (${fmt(evaluation.models)} models)`, bar: '≤ 10 s (the default tick) at 1,000 models', met: evaluation.tick_seconds_cold <= 10 && evaluation.models >= 1000 ? true : evaluation.tick_seconds_cold > 10 ? false : null, other_load: evaluation.ticks[0]?.other_cpu_percent });
    rows.push({ id: `evaluation-warm${suffix}`, figure: `Evaluation: ${label} (next tick, warm)`, value: evaluation.tick_seconds_warm, display: `${evaluation.tick_seconds_warm} s (${fmt(evaluation.models)} models)`, bar: '≤ 10 s (the default tick) at 1,000 models', met: evaluation.tick_seconds_warm <= 10 && evaluation.models >= 1000 ? true : evaluation.tick_seconds_warm > 10 ? false : null, other_load: evaluation.ticks[1]?.other_cpu_percent });
  }
  const detection = results['detection'];
  if (detection && !detection.error) {
    for (const entry of detection.by_sigma as Json[]) {
      const all = entry.detected === entry.trials;
      const display = all ? `median ${entry.delay_s_median} s, max ${entry.delay_s_max} s (${entry.trials} offsets)` : `${entry.detected}/${entry.trials} detected within 180 s`;
      rows.push({
        id: `detection-${entry.sigmas}`,
        figure: `Detection delay, ${entry.sigmas}σ mean shift in one feature at 100 events/s (simulated clock, through Redis)`,
        value: all ? entry.delay_s_max : null,
        display,
        bar: entry.sigmas === 1 ? 'median ≤ 10 s, max ≤ 15 s' : entry.sigmas === 0.5 ? '≤ 60 s' : 'reported',
        met: entry.sigmas === 1 ? all && entry.delay_s_median <= 10 && entry.delay_s_max <= 15 : entry.sigmas === 0.5 ? all && entry.delay_s_max <= 60 : null,
      });
    }
  }
  const realtime = results['realtime'];
  if (realtime && !realtime.error) {
    rows.push({ id: 'detection-realtime', figure: 'Detection delay, 1σ at 100 events/s, real worker and Kafka (wall clock)', value: realtime.delay_s ?? null, display: realtime.detected ? `${realtime.delay_s} s` : 'not detected', bar: '≤ 15 s', met: realtime.detected === true && realtime.delay_s <= 15 });
  }
  const falseAlerts = results['false_alerts'];
  if (falseAlerts && !falseAlerts.error) {
    const hour = falseAlerts.simulated_seconds >= 3600;
    rows.push({
      id: 'false-alerts',
      figure: `False alerts: ${fmt(falseAlerts.feature_series)} stationary feature series, simulated clock`,
      value: falseAlerts.firing_events,
      display: `${falseAlerts.firing_events} alerts in ${round(falseAlerts.simulated_seconds / 60)} min`,
      bar: hour ? '0 in an hour' : '0 in an hour (quick run: shorter)',
      met: falseAlerts.firing_events === 0 ? (hour ? true : null) : false,
    });
  }
  const evaluation = results['evaluation'];
  const rss: [string, Json][] = [
    ['ingest worker, labels on', ingest?.worker_labels_on?.rss],
    ['ingest worker, labels off', ingest?.worker_labels_off?.rss],
    [`evaluation worker, ${evaluation?.models ?? '?'} models`, evaluation?.rss],
  ];
  for (const [label, memory] of rss) {
    if (memory) rows.push({ id: `rss-${label}`, figure: `Worker RSS peak: ${label}`, value: memory.peak_mib, display: `${memory.peak_mib} MiB`, bar: 'reported', met: null });
  }
  return rows;
}

async function main(): Promise<number> {
  const started = new Date();
  const redisVersion = await preflight();
  const concurrent = otherTestProcesses();
  const gitAtStart = gitState();
  if (concurrent.length > 0) log(`warning: other test processes are running (${concurrent.length}); figures will be lower than on an idle machine`);
  log(`run ${runId}, ${quick ? 'quick' : 'full'} mode`);
  const results: Record<string, Json> = {};
  let failed = false;
  const phase = async (name: string, key: string, body: () => Promise<Json>) => {
    if (!wanted(name)) return;
    const t = performance.now();
    log(`${name}…`);
    try {
      results[key] = await body();
      log(`${name} done in ${round((performance.now() - t) / 1000, 1)} s${busyNote(results[key])}`);
    } catch (error) {
      failed = true;
      results[key] = { error: String(error instanceof Error ? error.message : error) };
      log(`${name} FAILED: ${results[key].error}`);
    }
  };

  await phase('ingest', 'ingest', async () => {
    const names = namesFor(runId, 'ingest');
    const topic = `${names.stem}-predictions`;
    const base = { names, topic, events: CONFIG.ingest.events, models: CONFIG.ingest.models, seed: 4242 };
    const out: Json = { topic_partitions: 6, events: base.events, models: base.models, features: '16 numeric + 4 categorical', encoding: 'Confluent Avro' };
    out.produce = await inChild('ingest-produce', base);
    log(`produced ${fmt(base.events)} events (${fmt(out.produce.produce_events_per_s)}/s)`);
    for (const mode of ['fetch', 'decode', 'aggregate'] as const) {
      out[mode] = await inChild('ingest-consume', { ...base, mode, group: `${names.stem}-${mode}` });
      log(`${mode}: ${fmt(out[mode].events_per_s)} events/s${busyNote(out[mode])}`);
    }
    // The worker of before the planning thread (all on one thread), for comparison.
    out['worker_labels_on_one_thread'] = await inChild('ingest-worker', { ...base, labels: true, planningThread: false, group: `${names.stem}-one-thread`, names: { prefix: namesFor(runId, 'ingest-one-thread').prefix, stem: names.stem } });
    log(`worker, labels on, planning on the same thread: ${fmt(out['worker_labels_on_one_thread'].events_per_s)} events/s${busyNote(out['worker_labels_on_one_thread'])}`);
    // The same messages into a single Redis and into the 3-master Redis Cluster.
    for (const stateMode of ['single', 'cluster'] as const) {
      for (const labels of [false, true]) {
        const key = `worker_labels_${labels ? 'on' : 'off'}${stateMode === 'cluster' ? '_cluster' : ''}`;
        out[key] = await inChild('ingest-worker', { ...base, labels, stateMode, group: `${names.stem}-${key}`, names: { prefix: namesFor(runId, `ingest-${labels ? 'on' : 'off'}-${stateMode}`).prefix, stem: names.stem } });
        log(`worker, ${stateMode} Redis, labels ${labels ? 'on' : 'off'}: ${fmt(out[key].events_per_s)} events/s, Redis CPU ${out[key].redis_cpu_us_per_event} µs/event, RSS peak ${out[key].rss.peak_mib} MiB${busyNote(out[key])}`);
      }
    }
    if (profile) {
      for (const labels of [false, true]) {
        const key = labels ? 'profile_labels_on' : 'profile_labels_off';
        out[key] = await inChild('ingest-worker', {
          ...base,
          labels,
          group: `${names.stem}-${key}`,
          names: { prefix: namesFor(runId, `ingest-prof-${labels ? 'on' : 'off'}`).prefix, stem: names.stem },
          profileSeconds: CONFIG.ingest.profileSeconds,
        });
      }
    }
    return out;
  });
  await phase('state', 'state', () => inChild('state', { names: namesFor(runId, 'state'), ...CONFIG.state }));
  if (CONFIG.stateSensitivity) await phase('state', 'state_one_second_batches', () => inChild('state', { names: namesFor(runId, 'state-1s'), ...CONFIG.stateSensitivity }));
  await phase('evaluation', 'evaluation', () => inChild('evaluation', { names: namesFor(runId, 'evaluation'), ...CONFIG.evaluation }));
  await phase('evaluation', 'evaluation_cluster', () => inChild('evaluation', { names: namesFor(runId, 'evaluation-cluster'), ...CONFIG.evaluation, stateMode: 'cluster' }));
  await phase('detection', 'detection', () => inChild('detection', { names: namesFor(runId, 'detection'), ...CONFIG.detection }));
  await phase('false-alerts', 'false_alerts', () => inChild('false-alerts', { names: namesFor(runId, 'false-alerts'), ...CONFIG.falseAlerts }));
  if (CONFIG.realtime) await phase('realtime', 'realtime', () => inChild('detection-realtime', { names: namesFor(runId, 'realtime'), shiftAfterS: 120, sigmas: 1 }));

  const swept = await sweepRun(runId);
  const finished = new Date();
  const report = {
    command: quick ? 'npm run bench -- --quick' : 'npm run bench',
    mode: quick ? 'quick' : 'full',
    run_id: runId,
    date: started.toISOString(),
    duration_s: round((finished.getTime() - started.getTime()) / 1000, 1),
    machine: { ...machineInfo(), redis: redisVersion, other_test_processes_at_start: concurrent.length },
    code: { at_start: gitAtStart, at_end: gitState() },
    stack: { kafka: BROKERS.join(','), redis: REDIS_URL, redis_cluster: ENDPOINTS.redisClusterNodes.join(','), registry: REGISTRY_URL },
    config: CONFIG,
    bars: barRows(results),
    results,
    cleanup: swept,
  };
  const out = join(here, '..', 'results', quick ? 'e2e-quick.json' : 'e2e.json');
  mkdirSync(dirname(out), { recursive: true });
  if (only) log(`--only: not writing ${out}`);
  else writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  console.table(report.bars.map((row) => ({ figure: row.figure, measured: row.display, bar: row.bar, met: row.met === null ? '—' : row.met ? 'yes' : 'NO' })));
  if (only) console.log(JSON.stringify(results, null, 2));
  log(`done in ${report.duration_s} s${only ? '' : `; wrote ${out}`}; cleaned up ${swept.keys} leftover keys, ${swept.topics} topics, ${swept.groups} groups, ${swept.subjects} subjects`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    await sweepRun(runId).catch(() => undefined);
    process.exit(1);
  },
);
