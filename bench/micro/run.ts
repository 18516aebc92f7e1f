/**
 * Micro benchmarks for the hot pure functions: t-digest add/merge/encode/decode/quantile/cdf, every
 * drift statistic, and the npm `tdigest` package's add in the same run for comparison; Avro decoding
 * of prediction logs with avsc and with the compiled reader of src/decode/avro-reader.ts, same run.
 * Writes bench/results/micro.json and prints a table. Run: npm run bench:micro
 * A shorter run of some tasks: BENCH_FILTER=<regexp on task names> npm run bench:micro (their rows in
 * micro.json are replaced, the others kept).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import { Bench } from 'tinybench';
// @ts-expect-error the npm tdigest package ships no types
import { TDigest as NpmTDigest } from 'tdigest';
import { compileAvroReader } from '../../src/decode/avro-reader.ts';
import { PREDICTION_SCHEMA_FILE } from '../../src/produce/encode.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../src/produce/traffic.ts';
import { createRandom } from '../../src/random.ts';
import { registerSecret, scrubSecrets } from '../../src/telemetry/redact.ts';
import { CategoryCounts, Moments, TDigest } from '../../src/sketch/index.ts';
import {
  andersonDarling,
  bandChange,
  categoricalDrift,
  chiSquare,
  jsDistance,
  jsDistanceCategorical,
  ks,
  linf,
  numericDrift,
  psi,
  shapeChange,
  wasserstein,
} from '../../src/stats/index.ts';

interface NpmDigest {
  push(x: number): void;
  compress(): void;
}

const BATCH = 100_000;
for (const secret of ['kafka-password-3f9a1c', 'redis-password-77b2e0', 'registry-password-c41d08']) registerSecret(secret);
const LOG_LINE = JSON.stringify({ level: 40, time: 1_764_000_000_000, pid: 4242, name: 'driftwatch', component: 'kafkajs', broker: 'kafka-1.kafka:9093', clientId: 'driftwatch-w1', error: 'Connection timeout', retryCount: 3, retryTime: 1840, msg: 'Connection error: Request ListOffsets(key: 2, version: 4) timed out after 30000ms' });
const LEAKY_LINE = LOG_LINE.replace('Connection timeout', 'WRONGPASS kafka-password-3f9a1c');
const random = createRandom(20240601);
const values = Float64Array.from({ length: BATCH }, () => random.normal());
const shifted = Float64Array.from({ length: BATCH }, () => 0.3 + random.normal());

function digestOf(data: Float64Array): TDigest {
  const digest = new TDigest();
  digest.addAll(data);
  digest.quantile(0.5); // compact now, outside the timed code
  return digest;
}

const ref = digestOf(values);
const cur = digestOf(shifted);
const refMoments = new Moments();
for (const x of values) refMoments.add(x);
const curMoments = new Moments();
for (const x of shifted) curMoments.add(x);
const encoded = ref.encode();
const encodedCur = cur.encode();
const parts = Array.from({ length: 20 }, (_, p) => digestOf(values.subarray(p * 5000, (p + 1) * 5000)));
const categories = (shift: number) => {
  const counts = new CategoryCounts();
  for (let i = 0; i < 10_000; i++) counts.add(`c${Math.floor(50 * random.next() ** (1 + shift))}`);
  return counts;
};
const refCategories = categories(0);
const curCategories = categories(0.3);

// Prediction logs as the traffic generator makes them (20 features: 16 doubles, 4 short categorical
// strings), Avro bodies without the Confluent header, decoded as the registry cache decodes them.
const AVRO_EVENTS = 1000;
const predictionSchema = JSON.parse(readFileSync(PREDICTION_SCHEMA_FILE, 'utf8')) as avro.Schema;
const writerType = avro.Type.forSchema(predictionSchema, { wrapUnions: 'never' });
const traffic = new TrafficGenerator(DEFAULT_TRAFFIC);
const avroBodies = Array.from({ length: AVRO_EVENTS }, (_, i) => writerType.toBuffer(traffic.next(1_700_000_000_000 + 10 * i, 10 * i)));
const compiledReader = compileAvroReader(predictionSchema);
const compiledNoValueIntern = compileAvroReader(predictionSchema, { internValuesUpTo: 0 });
if (compiledReader === undefined || compiledNoValueIntern === undefined) throw new Error('the prediction-log schema does not compile');
for (const body of avroBodies) {
  // Measure only what decodes the same: a mismatch here is a bug, not a benchmark result.
  if (JSON.stringify(compiledReader.decode(body)) !== JSON.stringify(writerType.fromBuffer(body))) throw new Error('compiled reader disagrees with avsc');
}
let decodedSink = 0;

const bench = new Bench({ name: 'driftwatch micro', time: 1000, warmupTime: 200 });
/** Tasks whose one operation handles many values (numbers, events): reported as values/s too. */
const valuesPerOp = new Map<string, number>();
const filter = process.env.BENCH_FILTER === undefined ? undefined : new RegExp(process.env.BENCH_FILTER);
interface Tasks {
  add(name: string, fn: () => void): Tasks;
}
/** Adds tasks, skipping those BENCH_FILTER does not match. */
const tasks: Tasks = {
  add(name, fn) {
    if (filter === undefined || filter.test(name)) bench.add(name, fn);
    return tasks;
  },
};

tasks
  .add('tdigest add (driftwatch, 1e5 values)', () => {
    const digest = new TDigest();
    for (let i = 0; i < BATCH; i++) digest.add(values[i] as number);
    digest.quantile(0.5);
  })
  .add('tdigest add (npm tdigest 0.1.2, 1e5 values)', () => {
    const digest = new NpmTDigest() as NpmDigest;
    for (let i = 0; i < BATCH; i++) digest.push(values[i] as number);
    digest.compress();
  })
  .add('moments add (1e5 values)', () => {
    const moments = new Moments();
    for (let i = 0; i < BATCH; i++) moments.add(values[i] as number);
  })
  .add('tdigest merge (2 digests)', () => {
    ref.clone().merge(cur).quantile(0.5);
  })
  .add('tdigest mergeAll (20 digests)', () => {
    TDigest.mergeAll(parts).quantile(0.5);
  })
  .add('tdigest encode', () => {
    ref.encode();
  })
  .add('tdigest decode', () => {
    TDigest.decode(encoded);
  })
  .add('tdigest quantile', () => {
    ref.quantile(0.37);
  })
  .add('tdigest cdf', () => {
    ref.cdf(0.42);
  })
  .add('psi', () => {
    psi(ref, cur);
  })
  .add('ks (statistic + p-value)', () => {
    ks(ref, cur);
  })
  .add('js distance (numeric)', () => {
    jsDistance(ref, cur);
  })
  .add('wasserstein / sigma', () => {
    wasserstein(ref, cur, refMoments);
  })
  .add('anderson-darling (statistic + p-value)', () => {
    andersonDarling(ref, cur);
  })
  .add('shape change (medians aligned)', () => {
    shapeChange(ref, cur);
  })
  .add('band change (quantile bands)', () => {
    bandChange(ref, cur);
  })
  .add('numericDrift (all numeric statistics)', () => {
    numericDrift({ digest: ref, moments: refMoments }, { digest: cur, moments: curMoments });
  })
  .add('numericDrift (current digest decoded, knots rebuilt)', () => {
    numericDrift({ digest: ref, moments: refMoments }, { digest: TDigest.decode(encodedCur), moments: curMoments });
  })
  .add('js distance (categorical, 50 categories)', () => {
    jsDistanceCategorical(refCategories, curCategories);
  })
  .add('linf (categorical)', () => {
    linf(refCategories, curCategories);
  })
  .add('chi-square (categorical)', () => {
    chiSquare(refCategories, curCategories);
  })
  .add('categoricalDrift (all categorical statistics)', () => {
    categoricalDrift(refCategories, curCategories);
  })
  .add('avro decode prediction log (avsc fromBuffer, 1000 events)', () => {
    for (const body of avroBodies) decodedSink += (writerType.fromBuffer(body) as { sent_at: number }).sent_at & 1;
  })
  .add('avro decode prediction log (compiled reader, 1000 events)', () => {
    for (const body of avroBodies) decodedSink += (compiledReader.decode(body) as { sent_at: number }).sent_at & 1;
  })
  .add('avro decode prediction log (compiled reader, map keys interned only, 1000 events)', () => {
    for (const body of avroBodies) decodedSink += (compiledNoValueIntern.decode(body) as { sent_at: number }).sent_at & 1;
  })
  // Every log line, CLI output and /metrics scrape goes through scrubSecrets (telemetry/redact.ts).
  .add('scrub secrets from a 300-byte log line (3 secrets registered, none in it)', () => {
    decodedSink += scrubSecrets(LOG_LINE).length & 1;
  })
  .add('scrub secrets from a 300-byte log line (3 secrets registered, one in it)', () => {
    decodedSink += scrubSecrets(LEAKY_LINE).length & 1;
  });
for (const name of ['tdigest add (driftwatch, 1e5 values)', 'tdigest add (npm tdigest 0.1.2, 1e5 values)', 'moments add (1e5 values)']) {
  valuesPerOp.set(name, BATCH);
}
for (const task of bench.tasks) if (task.name.startsWith('avro decode')) valuesPerOp.set(task.name, AVRO_EVENTS);

await bench.run();

const measured = bench.tasks.map((task) => {
  const result = task.result;
  if (result === undefined || result.error !== undefined || result.throughput === undefined) {
    throw new Error(`benchmark "${task.name}" failed: ${String(result?.error)}`);
  }
  const opsPerSecond = result.throughput.mean;
  return {
    name: task.name,
    ops_per_s: Math.round(opsPerSecond),
    mean_us: result.latency.mean * 1000,
    rme_percent: result.latency.rme,
    samples: result.latency.samples.length,
    ...(valuesPerOp.has(task.name) ? { values_per_s: Math.round(opsPerSecond * valuesPerOp.get(task.name)!), us_per_value: (result.latency.mean * 1000) / valuesPerOp.get(task.name)! } : {}),
  };
});

const digest1e6 = new TDigest();
for (let i = 0; i < 1_000_000; i++) digest1e6.add(random.normal() * Math.exp(random.normal()));
const machine = {
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? 'unknown',
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
};
const sizes = {
  encoded_bytes_1e6_values_default_compression: digest1e6.encode().length,
  centroids_1e6_values: digest1e6.centroidCount,
  encoded_bytes_delta_10_values: (() => {
    const small = new TDigest();
    for (let i = 0; i < 10; i++) small.add(values[i] as number);
    return small.encode().length;
  })(),
};

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'micro.json');
type Row = (typeof measured)[number];
let results: Row[] = measured;
if (filter !== undefined && existsSync(out)) {
  // A filtered run replaces its own rows and keeps the rest, in their order.
  const previous = (JSON.parse(readFileSync(out, 'utf8')) as { results: Row[] }).results;
  const fresh = new Map(measured.map((r) => [r.name, r]));
  results = previous.map((r) => fresh.get(r.name) ?? r);
  for (const r of measured) if (!previous.some((p) => p.name === r.name)) results.push(r);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify({ machine, sizes, results }, null, 2)}\n`);

console.log(`machine: ${machine.cpu}, ${machine.nproc} cores, node ${machine.node}`);
console.table(
  measured.map((r) => ({
    task: r.name,
    'ops/s': r.ops_per_s.toLocaleString('en-US'),
    'mean µs': r.mean_us.toFixed(2),
    '±%': r.rme_percent.toFixed(1),
    'values/s': r.values_per_s === undefined ? '' : `${(r.values_per_s / 1e6).toFixed(2)} M`,
    'µs/value': r.us_per_value === undefined ? '' : r.us_per_value.toFixed(3),
  })),
);
console.table(sizes);
console.log(`wrote ${out}`);
if (decodedSink < 0) console.log(decodedSink); // keeps the decoded values observable
