/**
 * Evaluation: one worker's EvaluationLoop.tick(now) over N models × 50 features (40 numeric, 10
 * categorical) with a loaded baseline each (the default reference kind) and realistic current windows.
 *
 * State, written with the state's prediction write (BatchStore.applyPredictions): `now` is 30 s into a
 * minute, so the default windows read two fine buckets for the last minute — the previous minute (6,000
 * events at 100 events/s) and the current one (3,000 events so far) — and the recent 10-second buckets
 * for the last 10 s (1,000 events). Each bucket holds what compaction leaves in a steady stream: merged
 * summaries plus a tail of 7 small appended deltas (compaction runs at 16 elements, so a list holds 1–16,
 * ~8 on average): the previous minute is one summary of 6,000 events + 7 deltas of 5 events; the current
 * minute is written as 10-second slices, each a summary of 930 events (compacted into the minute's fine
 * list before the slice's tail arrives, as a steady stream's compaction leaves it) + 7 deltas of 10
 * events at its end, so the fine bucket holds 1 + 7 elements and each recent bucket its slice's 1 + 7.
 * Contents come from 10 template models generated with TrafficGenerator (distinct seeds), assigned
 * round-robin. Baselines: 20,000 events per template, saved per model in the state's baseline store.
 * Ticks: the first at `now` (cold), then two more 10 s apart, each after the next 10-second slice was
 * written (the earlier tick's reads wrote merged fine buckets back, as WindowStore.summaries does; the
 * new appends make the buckets lists again, as traffic would). The write also appends to the coarse
 * bucket; a tick with baseline references never reads it, and it is deleted per chunk of models so that
 * the shared Redis stays well under its maxmemory.
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
  /** Five 10-second slices of the current minute, each a head summary then its tail deltas. */
  slices: ModelSummary[][];
}

function summaryOf(generator: TrafficGenerator, count: number, from: number, to: number): ModelSummary {
  const aggregator = new Aggregator({ bucketMs: Number.MAX_SAFE_INTEGER, maxModels: 10, maxFeaturesPerModel: 1000, maxCategories: 100 });
  for (let i = 0; i < count; i++) {
    const sentAt = Math.floor(from + ((i + 0.5) * (to - from)) / count);
    aggregator.record(generator.next(sentAt, 0));
  }
  return aggregator.drain().deltas[0]!.summary;
}

const SLICE = 10_000;

function template(spec: TrafficSpec, minute: number, tail: { deltas: number; events: number }): Template {
  const generator = new TrafficGenerator(spec);
  const baseline = summaryOf(new TrafficGenerator({ ...spec, seed: spec.seed + 1000 }), 20_000, 0, 1);
  const bucket = (from: number, head: number, span: number, tailEvents: number) => [
    summaryOf(generator, head, from, from + span - 1000),
    ...Array.from({ length: tail.deltas }, () => summaryOf(generator, tailEvents, from + span - 1000, from + span)),
  ];
  const perSlice = 1000 - tail.deltas * 10;
  return {
    baseline,
    previous: bucket(minute - MINUTE, 6000, MINUTE, tail.events),
    slices: Array.from({ length: 5 }, (_, k) => bucket(minute + k * SLICE, perSlice, SLICE, 10)),
  };
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
    const delta = (id: (typeof ids)[number], bucketStart: number, summary: ModelSummary): BucketDelta => ({ predictor: id.predictor, model: id.model, role: 'primary', bucketStart, summary });
    const keysOf = (id: (typeof ids)[number]) => state.keys.model(modelKey(id.predictor, id.model));
    // Slice k of the current minute for every model of a chunk: its head (the part of the slice a running
    // worker's compaction has already merged), then the minute's fine list compacted as that compaction
    // would have left it (one element: the head stands for many small appends, not one big delta), then
    // the slice's tail of small deltas — so a fine list holds 1 + 7 elements as in a steady stream, and
    // the recent bucket of the slice its head + 7.
    const writeSlice = async (chunk: typeof ids, k: number) => {
      await applier.apply(chunk.map((id) => delta(id, minute + k * SLICE, id.template.slices[k]![0]!)));
      for (const id of chunk) await state.admin.compact(keysOf(id).bucket('fine', minute));
      for (let element = 1; element <= tail.deltas; element++) await applier.apply(chunk.map((id) => delta(id, minute + k * SLICE, id.template.slices[k]![element]!)));
    };
    // Lists nothing reads (coarse; the previous minute's recent buckets), dropped to spare the shared Redis
    // (one key per UNLINK: keys of different models may be on different cluster nodes).
    const coarse = [...new Set([minute - MINUTE, minute].map((t) => state.batches.bucketStart('coarse', t)))];
    const dropUnread = async (chunk: typeof ids) => {
      const keys = chunk.flatMap((id) => [...coarse.map((start) => keysOf(id).bucket('coarse', start)), keysOf(id).bucket('recent', minute - MINUTE)]);
      await Promise.all(keys.map((key) => redis.unlink(key)));
    };
    for (const chunk of chunks(ids, 100)) {
      for (let element = 0; element <= tail.deltas; element++) await applier.apply(chunk.map((id) => delta(id, minute - MINUTE, id.template.previous[element]!)));
      for (let k = 0; k < 3; k++) await writeSlice(chunk, k);
      await dropUnread(chunk);
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
    // Between ticks the next 10 seconds arrive, as they do in a running worker (the previous tick's reads
    // wrote merged buckets back; these appends make the current fine bucket a list again).
    const nextSlice = async (k: number) => {
      for (const chunk of chunks(ids, 100)) {
        await writeSlice(chunk, k);
        await dropUnread(chunk);
      }
    };
    await timeTick('first (cold: baselines read, caches empty)', now);
    await new Promise((resolve) => setTimeout(resolve, 500)); // the reads' write-backs land
    await nextSlice(3);
    await timeTick('second (warm, 10 s later, the next 10 s of traffic written)', now + 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await nextSlice(4);
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
