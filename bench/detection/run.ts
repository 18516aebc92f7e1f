/**
 * Detection delay and false alarms on a simulated clock, with the default topology (built-in rules,
 * windows of 10 s and 1 min, 10 s tick, a loaded baseline of 20,000 events per model as reference).
 *
 *   npm run bench:detection              every phase, in memory (bench/detection/simulation.ts) and
 *                                        through Redis and Kafka (~30 min, one core) → bench/results/detection.json
 *   npm run bench:detection -- --quick   smaller sizes (~3 min)                     → bench/results/detection-quick.json
 *   options: --only=delays,stationary-100,stationary-10,long-run,e2e (the phases run replace theirs in
 *            the results file; the others are kept, each with its own date and commit)
 *
 * Phases:
 * - delays: one model (13 features: normal, skewed, heavy-tailed, discrete, categorical; see
 *   traffic.ts) at 100 and at 10 events/s; after 180 s of stationary traffic one series changes — n3's
 *   mean by 0.5σ, 1σ or 2σ, its spread ×1.5, or category c2 of c_geo twice as frequent — at offsets
 *   spread over the minute and the tick; the delay is the first firing alert on that series
 *   (`evaluated_at` − the change), any other alert is counted as false.
 * - stationary-100, stationary-10: 77 models × 13 features = 1,001 stationary feature series (+ 77
 *   predictions) for one hour at 100, resp. 10 events/s per model: every firing alert is false.
 * - long-run: the same at 10 events/s (the smallest windows that may alert, where noise matters most)
 *   for more hours, and the calibration of every drift rule's test (calibration.ts): the share of
 *   series-hours whose smallest p-value fell below α, for α from 1e-2 to 1e-8.
 * - e2e: the 1σ trials through the real write path (Redis), the EvaluationLoop and the alerts topic
 *   (bench/e2e/detection.ts), against the local stack.
 * - realtime (full mode): a real worker and `driftwatch produce` at 100 events/s with a 1σ shift after
 *   120 s, wall clock (bench/e2e/detection.ts): what ingest latency and unaligned ticks add.
 *
 * Then `npm run bench:doc` writes the Detection section of BENCH.md from the JSON.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { effectiveRules, parseTopology } from '../../src/config/topology.ts';
import { PREDICTION_SERIES } from '../../src/evaluate/alert-event.ts';
import { RuleBook } from '../../src/evaluate/rules.ts';
import { machineInfo, namesFor, quantile, round, sweepRun } from '../e2e/common.ts';
import { Calibration } from './calibration.ts';
import { baselineOf, simulate, type SimulatedModel } from './simulation.ts';
import { ALL_FEATURES, SimulatedTraffic, type Change, type ChangeSpec } from './traffic.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const PHASES = ['delays', 'stationary-100', 'stationary-10', 'long-run', 'e2e', 'realtime'];
const unknown = args.filter((arg) => arg !== '--quick' && !arg.startsWith('--only='));
if (unknown.length > 0 || (only && only.some((phase) => !PHASES.includes(phase)))) {
  console.error(`usage: npm run bench:detection [-- --quick] [--only=${PHASES.join(',')}]`);
  process.exit(2);
}

const CONFIG = quick
  ? { offsets: 6, stationaryModels: 20, stationaryHours: 0.25, longRunHours: 0, e2eOffsets: [3, 36] }
  : { offsets: 20, stationaryModels: 77, stationaryHours: 1, longRunHours: 4, e2eOffsets: [3, 13, 27, 36, 44, 51] };

const HOUR = 3_600_000;
/**
 * When in the minute the change starts: the golden-ratio sequence k·0.618… mod 1 over 60 s, which
 * spreads any number of trials evenly over the minute (the buckets' phase) and, since 60·0.618 s is not
 * near a multiple of 10, over the tick's phase too.
 */
const OFFSETS = Array.from({ length: CONFIG.offsets }, (_, k) => Math.round(60_000 * ((k * 0.6180339887) % 1)));
/** A simulated epoch on an hour boundary (the windows and buckets align to it, as they do to wall time). */
const T0 = 480_000 * HOUR;
const BASELINE_EVENTS = 20_000;
const topology = parseTopology({}, 'default topology');
const rules = new RuleBook(effectiveRules(topology), topology.rules.overrides);

const log = (text: string) => console.log(`[detection ${new Date().toISOString().slice(11, 19)}] ${text}`);

const CHANGES: { label: string; change: ChangeSpec; series: string; bar?: { median?: number; max?: number } }[] = [
  { label: '1σ mean shift', change: { kind: 'mean', feature: 'n3', sigmas: 1 }, series: 'n3', bar: { median: 10, max: 15 } },
  { label: '0.5σ mean shift', change: { kind: 'mean', feature: 'n3', sigmas: 0.5 }, series: 'n3', bar: { max: 60 } },
  { label: '2σ mean shift', change: { kind: 'mean', feature: 'n3', sigmas: 2 }, series: 'n3' },
  { label: 'spread ×1.5', change: { kind: 'scale', feature: 'n3', factor: 1.5 }, series: 'n3', bar: { max: 60 } },
  // c2 of c_geo holds 15.6 % of the values; twice as frequent, 27 %.
  { label: "category share ×2 (c_geo's c2: 15.6 → 27 %)", change: { kind: 'share', feature: 'c_geo', category: 2, factor: 2 }, series: 'c_geo', bar: { max: 30 } },
];

interface Trial {
  offset_s: number;
  delay_s?: number;
  rule?: string;
  window?: string;
  value?: number;
  false_alerts: string[];
}

function model(seed: number, predictor: string, name: string, changes: Change[] = []): SimulatedModel {
  return { traffic: new SimulatedTraffic(seed, predictor, name, changes), baseline: baselineOf(new SimulatedTraffic(seed + 7_777_777, predictor, name), BASELINE_EVENTS) };
}

function delayTrial(rate: number, change: ChangeSpec, series: string, offsetMs: number, seed: number): Trial {
  const at = T0 + 180_000 + offsetMs;
  const simulated = model(seed, 'delay', 'm1', [{ ...change, at }]);
  let first: Trial | undefined;
  const falseAlerts: string[] = [];
  simulate({
    topology,
    models: [simulated],
    ratePerModel: rate,
    start: T0,
    end: at + 240_000,
    onAlert: (_, event) => {
      if (event.state !== 'firing') return;
      if (event.feature === series && event.evaluated_at >= at) {
        first ??= { offset_s: offsetMs / 1000, delay_s: round((event.evaluated_at - at) / 1000, 2), rule: event.rule, window: event.window, value: round(event.value, 3), false_alerts: [] };
      } else {
        falseAlerts.push(`${event.rule}:${event.feature ?? ''}@${round((event.evaluated_at - at) / 1000, 1)}s`);
      }
    },
    afterTick: () => first !== undefined,
  });
  return { ...(first ?? { offset_s: offsetMs / 1000 }), false_alerts: falseAlerts };
}

function delays() {
  const out = [];
  let seed = 10_000;
  for (const rate of [100, 10]) {
    for (const { label, change, series, bar } of CHANGES) {
      const started = performance.now();
      const trials = OFFSETS.map((offset) => delayTrial(rate, change, series, offset, seed++));
      const detected = trials.flatMap((trial) => (trial.delay_s === undefined ? [] : [trial.delay_s])).sort((a, b) => a - b);
      const rulesFired: Record<string, number> = {};
      for (const trial of trials) if (trial.rule) rulesFired[`${trial.rule} (${trial.window})`] = (rulesFired[`${trial.rule} (${trial.window})`] ?? 0) + 1;
      const entry = {
        rate_per_model: rate,
        change: label,
        series,
        trials: trials.length,
        detected: detected.length,
        delay_s_min: detected[0],
        delay_s_median: detected.length > 0 ? round(quantile(detected, 0.5), 1) : undefined,
        delay_s_p90: detected.length > 0 ? round(quantile(detected, 0.9), 1) : undefined,
        delay_s_max: detected.length === trials.length ? detected[detected.length - 1] : undefined,
        bar: rate === 100 ? bar : undefined,
        rules_fired: rulesFired,
        false_alerts: trials.reduce((sum, trial) => sum + trial.false_alerts.length, 0),
        trial_list: trials,
        seconds: round((performance.now() - started) / 1000, 1),
      };
      log(`${rate}/s ${label}: median ${entry.delay_s_median} s, max ${entry.delay_s_max ?? 'not all detected'} s, ${entry.false_alerts} false (${entry.seconds} s)`);
      out.push(entry);
    }
  }
  return out;
}

function stationary(rate: number, hours: number, firstSeed: number) {
  const started = performance.now();
  const models = Array.from({ length: CONFIG.stationaryModels }, (_, i) => model(firstSeed + i, 'stationary', `m${i}`));
  const baselineSeconds = (performance.now() - started) / 1000;
  const calibration = new Calibration();
  const fired: string[] = [];
  const firedByRule: Record<string, number> = {};
  const stats = simulate({
    topology,
    models,
    ratePerModel: rate,
    start: T0,
    end: T0 + hours * HOUR,
    // Whole ticks of traffic per batch: the same buckets as 1-second batches, a tenth of the merges.
    batchMs: topology.evaluation.tick,
    onAlert: (m, event) => {
      if (event.state !== 'firing') return;
      fired.push(`${m.traffic.model}:${event.rule}:${event.feature ?? ''}:${event.window}=${round(event.value, 4)} p=${event.details['p_value'] ?? '-'}`);
      firedByRule[event.rule] = (firedByRule[event.rule] ?? 0) + 1;
    },
    onEvaluated: (m, _now, result) => {
      const predictor = m.traffic.predictor;
      calibration.observe(`${m.traffic.model}|${PREDICTION_SERIES}`, rules.for({ predictor, model: m.traffic.model, feature: PREDICTION_SERIES }, 'prediction'), result.prediction);
      for (const [name, perWindow] of result.features) calibration.observe(`${m.traffic.model}|${name}`, rules.for({ predictor, model: m.traffic.model, feature: name }, 'feature'), perWindow);
    },
    afterTick: (now) => {
      if ((now - T0) % HOUR === 0) calibration.closeHour(1);
    },
  });
  if (hours % 1 !== 0) calibration.closeHour(hours % 1);
  const featureSeries = models.length * ALL_FEATURES.length;
  const result = {
    rate_per_model: rate,
    models: models.length,
    feature_series: featureSeries,
    prediction_series: models.length,
    simulated_hours: hours,
    feature_series_hours: featureSeries * hours,
    series_hours: (featureSeries + models.length) * hours,
    ticks: stats.ticks,
    events: stats.events,
    firing_alerts: fired.length,
    firing_by_rule: firedByRule,
    alerts: fired.slice(0, 20),
    calibration: calibration.summary(),
    seconds: round((performance.now() - started) / 1000, 1),
    seconds_baselines: round(baselineSeconds, 1),
    seconds_generating: round(stats.generateMs / 1000, 1),
    seconds_evaluating: round(stats.evaluateMs / 1000, 1),
  };
  log(`${rate}/s, ${models.length} models × ${hours} h: ${fired.length} firing alerts (${result.seconds} s)`);
  return result;
}

async function realtime() {
  const { measureRealTimeDetection } = await import('../e2e/detection.ts');
  const runId = randomBytes(4).toString('hex');
  try {
    return await measureRealTimeDetection({ names: namesFor(runId, 'realtime'), shiftAfterS: 120, sigmas: 1 });
  } finally {
    await sweepRun(runId).catch(() => undefined);
  }
}

async function e2e() {
  const { measureDetection } = await import('../e2e/detection.ts');
  const runId = randomBytes(4).toString('hex');
  try {
    return await measureDetection({ names: namesFor(runId, 'detection'), sigmas: [1], offsets: CONFIG.e2eOffsets });
  } finally {
    await sweepRun(runId).catch(() => undefined);
  }
}

function commit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: here, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** The issue's side-by-side measurement of the other libraries' defaults on the same stream (issue 17). */
const PEERS = {
  source: 'issue 17: one stream, 20 features, a +1σ shift in one feature, windows of 1 minute evaluated every 10 s, each library\'s default test',
  delay_1sigma_100_per_s: { median_s: '6.5–8', max_s: '9–14' },
  false_alarms_per_1000_series_hours: {
    '100/s': { Evidently: '0 in 20 series-hours', 'Alibi Detect': 1200, NannyML: 14_250, whylogs: 21_500 },
    '10/s': { Evidently: 2450, 'Alibi Detect': 1350, NannyML: 450, whylogs: 17_750 },
  },
  driftwatch_before: { delay_1sigma_median_s: 25.5, delay_1sigma_max_s: 33, false_alarms: '0 in 1,000 series-hours' },
};

async function main(): Promise<void> {
  const wanted = (phase: string) => !only || only.includes(phase);
  const file = join(here, '..', 'results', quick ? 'detection-quick.json' : 'detection.json');
  const previous = only && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { phases?: Record<string, unknown> }) : undefined;
  const phases: Record<string, unknown> = { ...(previous?.phases ?? {}) };
  const stamp = () => ({ date: new Date().toISOString(), commit: commit(), machine: machineInfo() });
  const run = async (name: string, body: () => unknown) => {
    if (!wanted(name)) return;
    log(`${name}…`);
    const started = performance.now();
    phases[name] = { ...stamp(), result: await body(), seconds: round((performance.now() - started) / 1000, 1) };
  };
  await run('delays', delays);
  await run('stationary-100', () => stationary(100, CONFIG.stationaryHours, 100_000));
  await run('stationary-10', () => stationary(10, CONFIG.stationaryHours, 200_000));
  if (CONFIG.longRunHours > 0) await run('long-run', () => stationary(10, CONFIG.longRunHours, 300_000));
  await run('e2e', e2e);
  if (!quick) await run('realtime', realtime);
  const report = {
    command: `npm run bench:detection${quick ? ' -- --quick' : ''}`,
    mode: quick ? 'quick' : 'full',
    topology: {
      windows: topology.windows.current,
      tick_ms: topology.evaluation.tick,
      retention: topology.state.retention,
      rules: effectiveRules(topology).filter((rule) => rule.significance !== undefined),
      baseline_events: BASELINE_EVENTS,
    },
    config: CONFIG,
    peers: PEERS,
    phases,
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
