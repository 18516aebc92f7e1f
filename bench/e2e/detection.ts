/**
 * Detection delay and false alerts, with the default topology (1-minute buckets and window, baseline
 * reference, built-in rules, 10 s tick).
 *
 * Simulated (both modes): event time comes from a simulated clock. Traffic (DEFAULT_TRAFFIC, one model,
 * 100 events/s) is written through the real write path (SimulatedWriter: Aggregator → applyBatch →
 * compaction) in 1-second batches, and a real EvaluationLoop (AlertSink on a real producer) is ticked
 * every 10 s of event time with tick(now). 180 s of stationary traffic, then feature n3's mean moves
 * by kσ at a chosen offset from the minute / tick grid; the delay is the firing event's evaluated_at, read
 * back from the alerts topic, minus the shift's start. The real pipeline adds its ingest latency (a
 * batch flush, well under a second at 100 events/s) on top.
 *
 * False alerts (simulated): M models × 20 features at R events/s per model for a simulated duration, with
 * baselines loaded, 10-second batches and a tick every 10 s; every alert event on the topic is a false
 * alert.
 *
 * Real time (full mode): a real worker (startWorker, evaluation on, default 10 s tick) and
 * `driftwatch produce`'s producer at 100 events/s with `n3:mean+1sd@120s`: the wall time from the shift's
 * start to the firing event's arrival on the alerts topic.
 */
import type { SeriesStatistics } from '../../src/evaluate/model-evaluation.ts';
import { startWorker } from '../../src/pipeline.ts';
import { parseDriftStep } from '../../src/produce/drift-spec.ts';
import { produceTraffic } from '../../src/produce/producer.ts';
import { DEFAULT_TRAFFIC, type TrafficSpec } from '../../src/produce/traffic.ts';
import { modelKey } from '../../src/aggregate/index.ts';
import { openTopologyState } from '../../src/runtime/state.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { createRegistry } from '../../src/telemetry/metrics.ts';
import { benchKafka, benchTopology, BROKERS, createTopics, loadBaselines, quantile, REGISTRY_URL, round, RssSampler, SimulatedWriter, type PhaseNames } from './common.ts';
import { evaluationRig, readAlerts, waitFor, type ReceivedAlert } from './rig.ts';

const HOUR = 3_600_000;
const TICK = 10_000;

const simulatedEpoch = () => Math.floor(Date.now() / HOUR) * HOUR - 3 * HOUR;

interface Trial {
  sigmas: number;
  offset_s: number;
  detected: boolean;
  delay_s?: number;
  rule?: string;
  feature?: string | null;
  statistic_value?: number;
  alerts_before_shift: number;
  other_alerts: string[];
}

async function detectionTrial(names: PhaseNames, alerts: ReceivedAlert[], sigmas: number, offsetS: number, seed: number): Promise<Trial> {
  const label = `s${String(sigmas).replace('.', '_')}-o${offsetS}`;
  const trialNames = { prefix: `${names.prefix}:${label}`, stem: names.stem };
  const topology = benchTopology(trialNames);
  const predictor = `det-${label}`;
  const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, seed, models: 1, predictor };
  const rig = await evaluationRig(topology, `${names.stem}-${label}`);
  try {
    await loadBaselines(rig.state, spec, 20_000);
    const t0 = simulatedEpoch();
    const shiftAt = t0 + 120_000 + offsetS * 1000;
    const writer = new SimulatedWriter(rig.state, topology, { ...spec, drift: [{ kind: 'mean-shift', feature: 'n3', sigmas, fromMs: shiftAt - t0 }] }, 100, t0);
    await writer.write(t0 - 60_000, t0, 1000);
    const key = modelKey(predictor, `${predictor}-v1`);
    let firing: ReceivedAlert | undefined;
    for (let now = t0 + TICK; now <= shiftAt + 180_000; now += TICK) {
      await writer.write(now - TICK, now, 1000);
      await rig.loop.tick(now);
      const latest = rig.latest.get(key);
      const fired = latest && [...latest.result.active.values()].some((active) => active.state.phase === 'firing');
      if (fired) {
        firing = await waitFor(() => alerts.find((a) => a.event.predictor_name === predictor && a.event.state === 'firing'), 15_000);
        if (firing) break;
      }
    }
    const mine = alerts.filter((a) => a.event.predictor_name === predictor);
    return {
      sigmas,
      offset_s: offsetS,
      detected: firing !== undefined,
      ...(firing
        ? { delay_s: round((firing.event.evaluated_at - shiftAt) / 1000, 1), rule: firing.event.rule, feature: firing.event.feature, statistic_value: round(firing.event.value, 3) }
        : {}),
      alerts_before_shift: mine.filter((a) => a.event.evaluated_at < shiftAt).length,
      other_alerts: mine.filter((a) => a !== firing).map((a) => `${a.event.state}:${a.event.rule}:${a.event.feature ?? ''}`),
    };
  } finally {
    await rig.state.admin.purge();
    await rig.close();
  }
}

export async function measureDetection(input: { names: PhaseNames; sigmas: number[]; offsets: number[] }) {
  const topology = benchTopology(input.names);
  const admin = benchKafka(`${input.names.stem}-admin`).admin();
  await admin.connect();
  await createTopics(admin, [{ topic: topology.sinks.alerts_topic, numPartitions: 1 }]);
  const reader = await readAlerts(topology.sinks.alerts_topic, `${input.names.stem}-reader`);
  const started = performance.now();
  try {
    const trials: Trial[] = [];
    let seed = 70;
    for (const sigmas of input.sigmas) for (const offset of input.offsets) trials.push(await detectionTrial(input.names, reader.alerts, sigmas, offset, seed++));
    const bySigma = input.sigmas.map((sigmas) => {
      const mine = trials.filter((t) => t.sigmas === sigmas);
      const delays = mine.flatMap((t) => (t.delay_s === undefined ? [] : [t.delay_s])).sort((a, b) => a - b);
      return {
        sigmas,
        trials: mine.length,
        detected: delays.length,
        delay_s_min: delays[0],
        delay_s_median: delays.length > 0 ? round(quantile(delays, 0.5), 1) : undefined,
        delay_s_max: delays.length === mine.length ? delays[delays.length - 1] : undefined,
        false_alerts_before_shift: mine.reduce((sum, t) => sum + t.alerts_before_shift, 0),
      };
    });
    return { rate_per_model: 100, tick_s: TICK / 1000, batch_s: 1, stationary_before_shift_s: 180, by_sigma: bySigma, trials, seconds: round((performance.now() - started) / 1000, 1) };
  } finally {
    await reader.stop();
    await admin.deleteTopics({ topics: [topology.sinks.alerts_topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

interface Extremes {
  max: number;
  at?: string;
}

export async function measureFalseAlerts(input: { names: PhaseNames; models: number; ratePerModel: number; simulatedSeconds: number }) {
  const topology = benchTopology(input.names);
  const admin = benchKafka(`${input.names.stem}-admin`).admin();
  await admin.connect();
  await createTopics(admin, [{ topic: topology.sinks.alerts_topic, numPartitions: 1 }]);
  const reader = await readAlerts(topology.sinks.alerts_topic, `${input.names.stem}-reader`);
  const rig = await evaluationRig(topology, `${input.names.stem}-worker`);
  const rss = new RssSampler();
  const started = performance.now();
  try {
    const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 900, models: input.models, predictor: 'stationary' };
    await loadBaselines(rig.state, spec, 20_000);
    const baselineSeconds = (performance.now() - started) / 1000;
    const t0 = simulatedEpoch();
    const writer = new SimulatedWriter(rig.state, topology, spec, input.ratePerModel, t0);
    await writer.write(t0 - 120_000, t0, TICK);
    // The largest value of each statistic seen on any series in any tick (smallest for p-values), and how
    // many series evaluations had enough samples on both sides for the drift rules to be allowed to fire.
    const highs = new Map<string, Extremes>();
    const lows = new Map<string, Extremes>();
    const note = (map: Map<string, Extremes>, name: string, value: number | undefined, at: string, sign: 1 | -1) => {
      if (value === undefined || !Number.isFinite(value)) return;
      const entry = map.get(name);
      if (!entry || sign * value > sign * entry.max) map.set(name, { max: value, at });
    };
    let eligible = 0;
    let evaluations = 0;
    let ticks = 0;
    let pendingStates = 0;
    let tickMs = 0;
    const minSamples = 500;
    for (let now = t0 + TICK; now <= t0 + input.simulatedSeconds * 1000; now += TICK) {
      await writer.write(now - TICK, now, TICK);
      const tickStarted = performance.now();
      await rig.loop.tick(now);
      tickMs += performance.now() - tickStarted;
      ticks++;
      for (const { entry, result } of rig.latest.values()) {
        pendingStates += result.active.size;
        const series: [string, SeriesStatistics | undefined][] = [['prediction', result.prediction[0]], ...[...result.features].map(([name, stats]): [string, SeriesStatistics | undefined] => [name, stats[0]])];
        for (const [name, stats] of series) {
          if (!stats) continue;
          evaluations++;
          if (stats.samples >= minSamples && stats.referenceSamples >= minSamples) eligible++;
          const at = `${entry.model}/${name} at +${(now - t0) / 1000}s (n=${stats.samples})`;
          for (const statistic of ['ks', 'linf', 'out_of_range_rate', 'new_category_rate', 'missing_rate_increase', 'default_rate_increase', 'psi'] as const) {
            note(highs, statistic, stats.values[statistic], at, 1);
          }
          note(lows, 'ks_p', stats.values.ks_p, at, -1);
          note(lows, 'chi2_p', stats.values.chi2_p, at, -1);
        }
        const model = result.model[0];
        if (model) {
          for (const statistic of ['error_rate', 'latency_p99_ratio'] as const) note(highs, statistic, model.values[statistic], `${entry.model} at +${(now - t0) / 1000}s`, 1);
        }
      }
    }
    // Give the reader a moment to see anything the last ticks published.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const fired = reader.alerts.filter((a) => a.event.state === 'firing');
    const extremes = (map: Map<string, Extremes>) => Object.fromEntries([...map].map(([name, e]) => [name, { value: Number(e.max.toPrecision(3)), at: e.at }]));
    return {
      models: input.models,
      features_per_model: spec.numericFeatures + spec.categoricalFeatures,
      feature_series: input.models * (spec.numericFeatures + spec.categoricalFeatures),
      prediction_series: input.models,
      rate_per_model: input.ratePerModel,
      simulated_seconds: input.simulatedSeconds,
      events_written: writer.stats.events,
      ticks,
      series_evaluations: evaluations,
      series_evaluations_with_enough_samples: eligible,
      firing_events: fired.length,
      alert_events: reader.alerts.length,
      false_alerts: fired.map((a) => `${a.event.model_id}:${a.event.rule}:${a.event.feature ?? ''}=${a.event.value}`).slice(0, 20),
      pending_or_firing_states_seen: pendingStates,
      highest: extremes(highs),
      lowest: extremes(lows),
      baseline_seconds: round(baselineSeconds, 1),
      mean_tick_ms: round(tickMs / ticks, 1),
      seconds: round((performance.now() - started) / 1000, 1),
      rss: rss.stop(),
    };
  } finally {
    await reader.stop();
    await rig.state.admin.purge();
    await rig.close();
    await admin.deleteTopics({ topics: [topology.sinks.alerts_topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

async function batchSizes(registry: ReturnType<typeof createRegistry>) {
  const metrics = (await registry.getMetricsAsJSON()) as unknown as { name: string; values: { value: number; metricName?: string }[] }[];
  const values = metrics.find((m) => m.name === 'driftwatch_batch_messages')?.values ?? [];
  const pick = (name: string) => values.find((v) => v.metricName === name)?.value ?? 0;
  const count = pick('driftwatch_batch_messages_count');
  return { batches: count, mean_messages: count > 0 ? round(pick('driftwatch_batch_messages_sum') / count, 2) : undefined };
}

/** Real time: a worker in this process, `produce` at 100 events/s, n3 shifted by kσ after `shiftAfterS` seconds. */
export async function measureRealTimeDetection(input: { names: PhaseNames; shiftAfterS: number; sigmas: number }) {
  const topic = `${input.names.stem}-predictions`;
  const topology = benchTopology(input.names, {}, { start_from: 'earliest' });
  const admin = benchKafka(`${input.names.stem}-admin`).admin();
  await admin.connect();
  const topics = [topic, `${input.names.stem}-labels`, topology.sinks.alerts_topic, topology.sinks.dlq_topic];
  await createTopics(admin, [
    { topic, numPartitions: 6 },
    ...topics.slice(1).map((t) => ({ topic: t, numPartitions: 1 })),
  ]);
  const state = openTopologyState(topology);
  const reader = await readAlerts(topology.sinks.alerts_topic, `${input.names.stem}-reader`);
  const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, seed: 77, models: 1, predictor: 'realtime' };
  const stop = new AbortController();
  let producing: Promise<unknown> | undefined;
  const registry = createRegistry(false);
  const worker = await (async () => {
    await loadBaselines(state, spec, 20_000);
    return startWorker({ topology, logger: createLogger('bench-worker', 'warn'), registry, workerId: `${input.names.stem}-w` });
  })();
  const rss = new RssSampler();
  try {
    await waitFor(() => (worker.ready() ? true : undefined), 60_000, 50);
    let producerStarted = 0;
    producing = produceTraffic({
      brokers: BROKERS,
      registryUrl: REGISTRY_URL,
      topic,
      encoding: 'avro',
      rate: 100,
      durationMs: (input.shiftAfterS + 150) * 1000,
      signal: stop.signal,
      spec: { ...spec, drift: [parseDriftStep(`n3:mean+${input.sigmas}sd@${input.shiftAfterS}s`)] },
      onProgress: ({ elapsedMs }) => {
        if (producerStarted === 0) producerStarted = Date.now() - elapsedMs;
      },
    });
    const firing = await waitFor(() => reader.alerts.find((a) => a.event.state === 'firing'), (input.shiftAfterS + 150) * 1000, 50);
    const shiftAt = producerStarted + input.shiftAfterS * 1000;
    return {
      sigmas: input.sigmas,
      shift_after_s: input.shiftAfterS,
      rate: 100,
      tick_s: topology.evaluation.tick / 1000,
      detected: firing !== undefined,
      ...(firing
        ? {
            delay_s: round((firing.receivedAt - shiftAt) / 1000, 1),
            evaluated_after_shift_s: round((firing.event.evaluated_at - shiftAt) / 1000, 1),
            rule: firing.event.rule,
            feature: firing.event.feature,
            fired_before_shift: firing.event.evaluated_at < shiftAt,
          }
        : {}),
      other_alerts: reader.alerts.filter((a) => a !== firing).map((a) => `${a.event.state}:${a.event.rule}:${a.event.feature ?? ''}`),
      // How big the worker's batches are at 100 events/s (what the state-size phase's schedule assumes).
      batches: await batchSizes(registry),
      rss: rss.stop(),
    };
  } finally {
    stop.abort();
    await producing?.catch(() => undefined);
    await worker.stop();
    await reader.stop();
    await state.admin.purge();
    await state.close();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups([topology.sources.group_id]).catch(() => undefined);
    await admin.disconnect();
  }
}
