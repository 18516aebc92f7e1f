/**
 * Canary verdicts on the simulated clock, many runs: how often an equal canary is rolled back (the
 * false-rollback rate, bar ≤ α), how often one exactly at the margin is, and how fast a worse canary is
 * rolled back and a better one promoted.
 *
 * Each run is one primary and a canary taking 10 % of the requests (TrafficGenerator.nextRequest with
 * classes, as `driftwatch produce --canary` generates them), labels 5 s after each prediction
 * (LabelGenerator), and the comparison's decision code (`evaluateComparison`, as the worker's
 * ComparisonRunner calls it) fed every 10 s of simulated time with what the runner reads from Redis:
 * the exact error counts since the start, each model's PerformanceSummary of its labelled predictions
 * since the start, and both models' ModelSummary over the comparison window (5 min). The default
 * topology's comparison settings (α 0.05, accuracy margin 2 points, 200 samples, error-rate and p99
 * latency guard-rails); the runs of the equal and at-margin canaries have promotion off, so each looks
 * for a full simulated hour (360 looks) — a promotion would end the run and hide a later false rollback.
 * test/integration/comparisons.test.ts runs one such hour end to end through Kafka, Redis and a worker.
 *
 *   npm run bench:comparisons [-- --runs=200]   → bench/results/comparisons.json; then npm run bench:doc
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelSummary, PerformanceSummary } from '../../src/aggregate/index.ts';
import { parseTopology } from '../../src/config/topology.ts';
import { evaluateComparison, type ComparisonProgress, type Counts } from '../../src/evaluate/comparison.ts';
import type { LabelEvent } from '../../src/events.ts';
import { LabelGenerator } from '../../src/produce/labels.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../src/produce/traffic.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const runsArg = process.argv.find((arg) => arg.startsWith('--runs='));
const RUNS = runsArg ? Number(runsArg.slice('--runs='.length)) : 200;
const RATE = 20;
const TICK_MS = 10_000;
const HOUR_MS = 3_600_000;
const LABEL_DELAY_MS = 5000;
const CLASSES = ['a', 'b', 'c'];

interface Outcome {
  decision: 'promote' | 'rollback' | null;
  trigger?: string;
  decided_after_s?: number;
  candidate_labels?: number;
}

/** One simulated run; stops at the first decision (or at `durationMs`). */
function run(seed: number, canaryAccuracy: number, options: { promote: boolean; durationMs: number; minDuration: string }): Outcome {
  const topology = parseTopology({ comparisons: { promote: options.promote, min_duration: options.minDuration } });
  const settings = topology.comparisons;
  const generator = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed, numericFeatures: 1, categoricalFeatures: 0, classes: CLASSES, deployments: [{ model: 'eta-v2', role: 'canary', share: 0.1 }] });
  const labeler = new LabelGenerator({ seed: seed + 1_000_000, accuracy: 0.9, noise: 0, delayMs: { min: LABEL_DELAY_MS, max: LABEL_DELAY_MS } });
  const t0 = 1_700_000_000_000;
  const totals = { candidate: { count: 0, errors: 0 }, baseline: { count: 0, errors: 0 } };
  const performance = { candidate: new PerformanceSummary(), baseline: new PerformanceSummary() };
  // The window as the runner reads it from fine buckets: whole minutes, the current one included.
  const minutes: { candidate: ModelSummary; baseline: ModelSummary }[] = [];
  const pending: { label: LabelEvent; side: 'candidate' | 'baseline'; prediction: string | number; sentAt: number }[] = [];
  const snapshot = { candidate: { count: 0, errors: 0 }, baseline: { count: 0, errors: 0 } };
  let progress: ComparisonProgress | undefined;
  const windowMinutes = Math.ceil(settings.window / 60_000) + 1;
  for (let now = t0 + TICK_MS; now <= t0 + options.durationMs; now += TICK_MS) {
    if ((now - TICK_MS - t0) % 60_000 === 0) {
      minutes.push({ candidate: new ModelSummary(), baseline: new ModelSummary() });
      if (minutes.length > windowMinutes) minutes.shift();
    }
    const slice = minutes.at(-1)!;
    for (let i = 0; i < (RATE * TICK_MS) / 1000; i++) {
      const sentAt = now - TICK_MS + Math.floor((i * 1000) / RATE);
      const [event] = generator.nextRequest(sentAt, sentAt - t0);
      const side = event!.role === 'canary' ? 'candidate' : 'baseline';
      const counts: Counts = totals[side];
      counts.count++;
      if (event!.error !== null) counts.errors++;
      const summary = slice[side];
      summary.count++;
      if (event!.error !== null) summary.errors++;
      if (event!.latency_ms !== null) summary.latency.add(event!.latency_ms);
      if (event!.error === null) summary.prediction.add(event!.prediction, 100);
      const label = labeler.label(event!, side === 'candidate' ? canaryAccuracy : 0.9);
      if (label) pending.push({ label, side, prediction: event!.prediction!, sentAt });
    }
    // Labels observed by now are joined: the summaries only grow, as the runner's reads do.
    while (pending.length > 0 && pending[0]!.label.observed_at <= now) {
      const { label, side, prediction, sentAt } = pending.shift()!;
      performance[side].add({ prediction, scores: null, label: label.label, delayMs: label.observed_at - sentAt });
    }
    if (!progress) {
      progress = { baseline: 'eta/eta-v1', baseline_model: 'eta-v1', started_at: now - TICK_MS, anchor: now - TICK_MS, snapshot, breaches: {} };
    }
    const window = { name: '5m', candidate: merged(minutes.map((m) => m.candidate)), baseline: merged(minutes.map((m) => m.baseline)) };
    const result = evaluateComparison({
      predictor: 'eta',
      candidate: { model: 'eta-v2', role: 'canary' },
      baseline: { key: 'eta/eta-v1', model: 'eta-v1' },
      now,
      progress,
      settings,
      rules: settings.rules,
      maxDurationMs: settings.max_duration,
      totals: { candidate: { ...totals.candidate }, baseline: { ...totals.baseline } },
      performance,
      window,
    });
    progress = result.progress;
    if (result.decision) {
      return { decision: result.decision.decision, trigger: result.decision.trigger, decided_after_s: (now - progress.started_at) / 1000, candidate_labels: result.metric?.samples.candidate ?? 0 };
    }
  }
  return { decision: null };
}

/** A fresh merge (ModelSummary.combine would merge into the first minute, which later ticks still add to). */
function merged(summaries: readonly ModelSummary[]): ModelSummary {
  const total = new ModelSummary();
  for (const summary of summaries) total.merge(summary);
  return total;
}

/** One-sided 95 % Clopper–Pearson upper bound of a rate with k events in n runs (bisection on the binomial CDF). */
function upperBound(k: number, n: number): number {
  const cdf = (p: number) => {
    let sum = 0;
    let term = (1 - p) ** n;
    for (let i = 0; i <= k; i++) {
      sum += term;
      term *= ((n - i) / (i + 1)) * (p / (1 - p));
    }
    return sum;
  };
  let low = k / n;
  let high = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (low + high) / 2;
    if (cdf(mid) > 0.05) low = mid;
    else high = mid;
  }
  return high;
}

const quantile = (values: readonly number[], q: number): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const round = (value: number | undefined, digits = 1) => (value === undefined ? undefined : Math.round(value * 10 ** digits) / 10 ** digits);

function scenario(name: string, runs: number, canaryAccuracy: number, options: { promote: boolean; durationMs: number; minDuration: string }, seedBase: number) {
  const started = performance.now();
  const outcomes = Array.from({ length: runs }, (_, i) => run(seedBase + i, canaryAccuracy, options));
  const rollbacks = outcomes.filter((o) => o.decision === 'rollback');
  const promotes = outcomes.filter((o) => o.decision === 'promote');
  const summary = {
    scenario: name,
    canary_accuracy: canaryAccuracy,
    primary_accuracy: 0.9,
    runs,
    simulated_minutes_per_run: options.durationMs / 60_000,
    promote: options.promote,
    min_duration: options.minDuration,
    rollbacks: rollbacks.length,
    rollback_rate: rollbacks.length / runs,
    rollback_rate_upper_95: round(upperBound(rollbacks.length, runs), 4),
    rollback_triggers: Object.fromEntries([...new Set(rollbacks.map((o) => o.trigger!))].map((t) => [t, rollbacks.filter((o) => o.trigger === t).length])),
    promotes: promotes.length,
    undecided: outcomes.filter((o) => o.decision === null).length,
    rollback_labels_median: quantile(rollbacks.map((o) => o.candidate_labels!), 0.5),
    rollback_labels_max: quantile(rollbacks.map((o) => o.candidate_labels!), 1),
    rollback_seconds_median: quantile(rollbacks.map((o) => o.decided_after_s!), 0.5),
    rollback_seconds_max: quantile(rollbacks.map((o) => o.decided_after_s!), 1),
    promote_seconds_median: quantile(promotes.map((o) => o.decided_after_s!), 0.5),
    promote_seconds_max: quantile(promotes.map((o) => o.decided_after_s!), 1),
    promote_labels_median: quantile(promotes.map((o) => o.candidate_labels!), 0.5),
    seconds: round((performance.now() - started) / 1000),
  };
  console.log(JSON.stringify(summary));
  return summary;
}

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const started = performance.now();
const settings = parseTopology({}).comparisons;
const scenarios = [
  scenario('equal canary (false rollbacks)', RUNS, 0.9, { promote: false, durationMs: HOUR_MS, minDuration: '30m' }, 10_000),
  scenario('canary worse by exactly the margin', RUNS, 0.88, { promote: false, durationMs: HOUR_MS, minDuration: '30m' }, 20_000),
  scenario('canary at 0.75', Math.max(20, Math.round(RUNS / 2)), 0.75, { promote: false, durationMs: HOUR_MS, minDuration: '30m' }, 30_000),
  scenario('better canary at 0.95, promotion on', Math.max(10, Math.round(RUNS / 4)), 0.95, { promote: true, durationMs: HOUR_MS, minDuration: '30m' }, 40_000),
  scenario('equal canary, promotion on', Math.max(10, Math.round(RUNS / 4)), 0.9, { promote: true, durationMs: HOUR_MS, minDuration: '30m' }, 50_000),
];
const result = {
  date: new Date().toISOString(),
  command: `npm run bench:comparisons${runsArg ? ` -- ${runsArg}` : ''}`,
  commit,
  machine: { nproc: cpus().length, cpu: cpus()[0]?.model ?? '?', node: process.version },
  rate_requests_per_s: RATE,
  canary_share: 0.1,
  label_delay_s: LABEL_DELAY_MS / 1000,
  tick_s: TICK_MS / 1000,
  alpha: settings.alpha,
  accuracy_margin: settings.accuracy_margin,
  min_samples: settings.min_samples,
  scenarios,
  seconds: round((performance.now() - started) / 1000),
};
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'comparisons.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(`bench/results/comparisons.json written (${result.seconds} s)`);
