/**
 * Evaluation: one worker's EvaluationLoop.tick(now) over N models × 50 features (40 numeric, 10
 * categorical) with a loaded baseline each (the default reference kind) and a realistic current window.
 *
 * State, written with RedisStateStore.applyBatch: `now` is 30 s into a minute, so the 1-minute window
 * reads two fine buckets — the previous minute (6,000 events at 100 events/s) and the current one
 * (3,000 events so far). Each bucket holds what compaction leaves in a steady stream: one merged
 * summary of the bucket so far plus a tail of 7 small appended deltas (5 events each; compaction runs at
 * 16 elements, so a list holds 1–16, ~8 on average). Contents come from 10 template models generated
 * with TrafficGenerator (distinct seeds), assigned round-robin. Baselines: 20,000 events per template,
 * saved per model with EvaluationStore.saveBaseline. Ticks: the first at `now` (cold), then two more
 * 10 s apart, each after appending 7 new small deltas to the current bucket of every model (the earlier
 * tick's reads wrote merged buckets back, as RedisStateStore.buckets does; the new appends make the
 * current bucket a list again, as traffic would). applyBatch also appends to the coarse bucket; a
 * tick with baseline references never reads it, and it is deleted per chunk of models so that the shared
 * Redis stays well under its maxmemory.
 */
import { Aggregator, modelKey, type BucketDelta, type ModelSummary } from '../../src/aggregate/index.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator, type TrafficSpec } from '../../src/produce/traffic.ts';
import { rawRedis, type StateMode } from '../../test/kit/index.ts';
import {
  BatchApplier,
  benchKafka,
  cpuSince,
  cpuSnapshot,
  otherLoad,
  stealSince,
  type BusyProcess,
  benchTopology,
  chunks,
  createTopics,
  Profiler,
  requireRedisRoom,
  round,
  RssSampler,
  type PhaseNames,
} from './common.ts';
import { evaluationRig, readTiming } from './rig.ts';

const MINUTE = 60_000;

interface Template {
  baseline: ModelSummary;
  previous: ModelSummary[];
  current: ModelSummary[];
}

function summaryOf(generator: TrafficGenerator, count: number, from: number, to: number): ModelSummary {
  const aggregator = new Aggregator({ bucketMs: Number.MAX_SAFE_INTEGER, maxModels: 10, maxFeaturesPerModel: 1000, maxCategories: 100 });
  for (let i = 0; i < count; i++) {
    const sentAt = Math.floor(from + ((i + 0.5) * (to - from)) / count);
    aggregator.record(generator.next(sentAt, 0));
  }
  return aggregator.drain().deltas[0]!.summary;
}

function template(spec: TrafficSpec, minute: number, tail: { deltas: number; events: number }): Template {
  const generator = new TrafficGenerator(spec);
  const baseline = summaryOf(new TrafficGenerator({ ...spec, seed: spec.seed + 1000 }), 20_000, 0, 1);
  const bucket = (from: number, head: number, span: number) => [
    summaryOf(generator, head, from, from + span - 1000),
    ...Array.from({ length: tail.deltas }, () => summaryOf(generator, tail.events, from + span - 1000, from + span)),
  ];
  return { baseline, previous: bucket(minute - MINUTE, 6000, MINUTE), current: bucket(minute, 3000, 30_000) };
}

export async function measureEvaluation(input: { names: PhaseNames; models: number; numeric: number; categorical: number; templates: number; stateMode?: StateMode }) {
  const mode = input.stateMode ?? 'single';
  const topology = benchTopology(input.names, {}, {}, mode);
  const redis = rawRedis(mode);
  const admin = benchKafka(`${input.names.stem}-admin`).admin();
  await admin.connect();
  await createTopics(admin, [{ topic: topology.sinks.alerts_topic, numPartitions: 1 }]);
  let rig: Awaited<ReturnType<typeof evaluationRig>> | undefined;
  try {
    if (mode === 'single') await requireRedisRoom(redis, input.models * 300 * 1024, `evaluating ${input.models} models`);
    const minute = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;
    const now = minute + 30_000;
    const tail = { deltas: 7, events: 5 };
    const setupStarted = performance.now();
    const spec: TrafficSpec = { ...DEFAULT_TRAFFIC, predictor: 'bench', models: 1, numericFeatures: input.numeric, categoricalFeatures: input.categorical };
    const templates = Array.from({ length: input.templates }, (_, k) => template({ ...spec, seed: 500 + k }, minute, tail));
    const generateSeconds = (performance.now() - setupStarted) / 1000;

    rig = await evaluationRig(topology, `${input.names.stem}-worker`);
    const { state, loop, latest } = rig;
    const applier = new BatchApplier(state);
    const ids = Array.from({ length: input.models }, (_, i) => ({ predictor: 'bench', model: `m${String(i).padStart(4, '0')}`, template: templates[i % templates.length]! }));
    const writeStarted = performance.now();
    for (const chunk of chunks(ids, 100)) {
      for (let element = 0; element <= tail.deltas; element++) {
        const deltas: BucketDelta[] = [];
        for (const id of chunk) {
          deltas.push({ predictor: id.predictor, model: id.model, role: 'primary', bucketStart: minute - MINUTE, summary: id.template.previous[element]! });
          deltas.push({ predictor: id.predictor, model: id.model, role: 'primary', bucketStart: minute, summary: id.template.current[element]! });
        }
        await applier.apply(deltas);
      }
      const coarse = new Set([minute - MINUTE, minute].map((t) => state.batches.bucketStart('coarse', t)));
      const keys = chunk.flatMap((id) => [...coarse].map((start) => state.keys.model(modelKey(id.predictor, id.model)).bucket('coarse', start)));
      await Promise.all(keys.map((key) => redis.unlink(key)));
      for (const id of chunk) await state.baselines.save(modelKey(id.predictor, id.model), id.template.baseline.encode(), { predictor: id.predictor, model: id.model });
    }
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    const sampleKey = state.keys.model(modelKey(ids[0]!.predictor, ids[0]!.model)).bucket('fine', minute - MINUTE);
    const bucketBytes = Number((await redis.memory('USAGE', sampleKey, 'SAMPLES', 0)) ?? 0);

    const rss = new RssSampler(50);
    const ticks: {
      tick: string;
      seconds: number;
      read_seconds: number;
      evaluate_and_write_seconds: number;
      cpu_seconds: number;
      models: number;
      alert_changes: number;
      other_cpu_percent: number;
      steal_percent: number;
      load_during: BusyProcess[];
    }[] = [];
    const timeTick = async (name: string, at: number, profiler?: Profiler) => {
      readTiming.ms = 0;
      readTiming.calls = 0;
      if (profiler) await profiler.start();
      const snapshot = cpuSnapshot();
      const cpu = process.cpuUsage();
      const started = performance.now();
      await loop.tick(at);
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const load = cpuSince(snapshot);
      let changes = 0;
      for (const { result } of latest.values()) changes += result.changes.length;
      ticks.push({
        tick: name,
        seconds: round(seconds, 3),
        read_seconds: round(readTiming.ms / 1000, 3),
        evaluate_and_write_seconds: round(seconds - readTiming.ms / 1000, 3),
        // This process' CPU (the main thread, plus V8's GC helper threads).
        cpu_seconds: round((used.user + used.system) / 1e6, 3),
        models: latest.size,
        alert_changes: changes,
        other_cpu_percent: otherLoad(load),
        steal_percent: stealSince(snapshot),
        load_during: load,
      });
    };
    // Between ticks the current bucket receives new small deltas, as it does in a running worker (the
    // previous tick's reads wrote merged buckets back; these appends make the current one a list again).
    const appendTail = async () => {
      for (const chunk of chunks(ids, 100)) {
        for (let element = 1; element <= tail.deltas; element++) {
          await applier.apply(chunk.map((id) => ({ predictor: id.predictor, model: id.model, role: 'primary' as const, bucketStart: minute, summary: id.template.current[element]! })));
        }
        await Promise.all(chunk.map((id) => redis.unlink(state.keys.model(modelKey(id.predictor, id.model)).bucket('coarse', state.batches.bucketStart('coarse', minute)))));
      }
    };
    await timeTick('first (cold: baselines read, caches empty)', now);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the reads' write-backs land
    await appendTail();
    await timeTick('second (warm, 10 s later, 7 new deltas in the current bucket)', now + 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await appendTail();
    const profiler = new Profiler();
    await timeTick('third (warm, 20 s later, same), under the CPU profiler', now + 20_000, profiler);
    const profile = await profiler.stop(25);
    const memory = rss.stop();
    const features = input.numeric + input.categorical;
    return {
      state_mode: mode,
      models: input.models,
      features_per_model: features,
      series: input.models * (features + 1),
      templates: input.templates,
      window_elements_per_bucket: 1 + tail.deltas,
      fine_bucket_bytes_sample: bucketBytes,
      generate_seconds: round(generateSeconds, 1),
      write_seconds: round(writeSeconds, 1),
      tick_seconds_cold: ticks[0]!.seconds,
      tick_seconds_warm: ticks[1]!.seconds,
      ms_per_model_warm: round((1000 * ticks[1]!.seconds) / input.models, 2),
      ticks,
      rss: memory,
      profile,
    };
  } finally {
    await rig?.state.admin.purge();
    await rig?.close();
    redis.disconnect();
    await admin.deleteTopics({ topics: [topology.sinks.alerts_topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}
