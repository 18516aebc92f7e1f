import { afterAll, describe, expect, it } from 'vitest';
import { parseTopology } from '../../../src/config/topology.ts';
import { confluentHeader, DEFAULT_LIMITS, writerSchemaDecoder, type AvroBodyDecoder } from '../../../src/decode/index.ts';
import type { CompletedPair } from '../../../src/join/index.ts';
import { encodeAvro, encodeJson, predictionType } from '../../../src/produce/encode.ts';
import { DEFAULT_TRAFFIC, TrafficGenerator } from '../../../src/produce/traffic.ts';
import type { SchemaRegistryCache } from '../../../src/sources/schema-registry.ts';
import { PlanningThread } from '../../../src/sources/kafka/planning-pool.ts';
import { LocalPlanner, type DecodedPredictions, type PlanInputs, type PlannedPredictions, type Planner, type PlannerOptions } from '../../../src/sources/kafka/prediction-planner.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';

const NOW = 1_700_000_000_000;
const SCHEMA_ID = 7;
const topology = parseTopology({});
const options: PlannerOptions = {
  limits: { ...DEFAULT_LIMITS, maxMessageBytes: 1 << 20 },
  aggregation: { bucketMs: 60_000, maxModels: 100, maxFeaturesPerModel: 200, maxCategories: 100 },
  joinSampleRate: 1,
  joinTtlMs: topology.state.label_join_ttl,
  pairing: true,
  pairBucketMs: 60_000,
};

/** The registry cache as the planner sees it: one known schema, one id the registry does not know. */
const type = predictionType();
const decoder: AvroBodyDecoder = writerSchemaDecoder(type.schema());
const schemas = {
  get: (id: number) => (id === SCHEMA_ID ? decoder : id === 404 ? 'schema id 404 is not known to the registry' : undefined),
  definition: (id: number) => (id === SCHEMA_ID ? { schema: JSON.stringify(type.schema()) } : id === 404 ? { unusable: 'schema id 404 is not known to the registry' } : undefined),
} as unknown as SchemaRegistryCache;

/** Requests of a primary and its shadow (every other message Avro), then four bad messages. */
function batch(requests: number): { values: (Buffer | null)[]; offsets: number[]; times: number[] } {
  const generator = new TrafficGenerator({ ...DEFAULT_TRAFFIC, seed: 3, deployments: [{ model: 'eta-v2', role: 'shadow', noise: 0.1 }] });
  const values: (Buffer | null)[] = [];
  for (let i = 0; i < requests; i++) {
    for (const event of generator.nextRequest(NOW - 30_000 + i * 10, 0)) values.push(values.length % 2 === 0 ? encodeAvro(type, SCHEMA_ID, event) : encodeJson(event));
  }
  // Bad ones, each with the reason it must be rejected for.
  values.push(Buffer.from([0xff, 1]), null, Buffer.concat([confluentHeader(404), Buffer.from([0])]), encodeJson({ ...new TrafficGenerator(DEFAULT_TRAFFIC).next(NOW, 0), sent_at: NOW + 3_600_000 }));
  return { values, offsets: values.map((_, i) => 1000 + i), times: values.map(() => NOW) };
}

/** Every shadow's prediction completes a pair with the primary's (as pair-requests.lua would answer). */
function completedOf(decoded: DecodedPredictions): Map<number, CompletedPair[]> {
  const completed = new Map<number, CompletedPair[]>();
  for (const { index, model, entry } of decoded.pairCandidates) {
    if (entry.role === 'shadow') completed.set(index, [{ shadow: { model, value: entry.value }, primary: { model: 'eta/eta-v1', value: 0.5 } }]);
  }
  return completed;
}

const comparable = (plan: PlannedPredictions) => ({
  overflow: plan.overflowModelEvents,
  models: plan.models.map((model) => ({ ...model, features: [...model.features], buckets: model.buckets.map(({ start, bytes }) => ({ start, hex: bytes.toString('hex') })) })),
  pairs: (plan.pairs ?? []).map((pair) => ({ ...pair, buckets: pair.buckets.map(({ start, bytes }) => ({ start, hex: bytes.toString('hex') })) })),
  joins: plan.joinGroups.map(({ pairs, ...group }) => ({ ...group, hex: pairs.toString('hex') })),
});

async function decodeAndPlan(planner: Planner, input: ReturnType<typeof batch>, inputs: (decoded: DecodedPredictions) => PlanInputs) {
  const decoded = await planner.decode(input.values, input.offsets, input.times);
  try {
    return { decoded: { ...decoded, id: 0 }, plan: await planner.plan(decoded.id, inputs(decoded)) };
  } finally {
    planner.release(decoded.id);
  }
}

describe('PredictionPlanner: decode → (registry, pairs) → plan, here or on the planning thread', () => {
  const thread = new PlanningThread(options, schemas, createLogger('test', 'silent'));
  afterAll(() => thread.close());

  it('rejects each bad message with its reason, lists the models and the pair candidates, and plans the rest exactly', async () => {
    const input = batch(150);
    const { decoded, plan } = await decodeAndPlan(new LocalPlanner(options, schemas), input, (d) => ({ refused: new Set(), completed: completedOf(d), floors: new Map() }));
    expect(decoded.rejected.map(({ index, code }) => [index, code])).toEqual([
      [300, 'DW_ERR_DECODE'],
      [301, 'DW_ERR_DECODE'],
      [302, 'DW_ERR_SCHEMA_UNKNOWN'],
      [303, 'DW_ERR_TIME'],
    ]);
    expect(decoded.accepted).toBe(300);
    expect(decoded.models.map(({ key, role }) => [key, role])).toEqual([
      ['eta/eta-v1', 'primary'],
      ['eta/eta-v2', 'shadow'],
    ]);
    expect(decoded.pairCandidates.length).toBe(300 - 2 * input.values.slice(0, 300).filter((value) => value !== null && value.includes('TIMEOUT')).length);
    expect(plan.models.reduce((sum, model) => sum + model.count, 0)).toBe(300);
    expect(plan.pairs?.map(({ key }) => key)).toEqual(['eta/eta-v2']);
    expect(plan.joinGroups.length).toBeGreaterThan(0);
  });

  it('gives the same decoding and the same bytes on the planning thread as in this one (floors, refused models, pairs)', async () => {
    const input = batch(500);
    const cases: ((d: DecodedPredictions) => PlanInputs)[] = [
      (d) => ({ refused: new Set(), completed: completedOf(d), floors: new Map() }),
      (d) => ({ refused: new Set(), completed: completedOf(d), floors: new Map([['eta/eta-v2', 1500]]) }),
      () => ({ refused: new Set(['eta/eta-v2']), completed: new Map(), floors: new Map() }),
    ];
    for (const inputs of cases) {
      const here = await decodeAndPlan(new LocalPlanner(options, schemas), input, inputs);
      const there = await decodeAndPlan(thread, input, inputs);
      expect(there.decoded).toEqual(here.decoded);
      expect(comparable(there.plan)).toEqual(comparable(here.plan));
      expect(Buffer.isBuffer(there.plan.models[0]!.buckets[0]!.bytes)).toBe(true);
    }
  });

  it('counts a refused model as overflow and plans nothing of it', async () => {
    const { plan } = await decodeAndPlan(thread, batch(100), () => ({ refused: new Set(['eta/eta-v2']), completed: new Map(), floors: new Map() }));
    expect(plan.models.map(({ key }) => key)).toEqual(['eta/eta-v1']);
    expect(plan.overflowModelEvents).toBe(100);
  });

  it('a released batch is gone: planning it fails (the runner decodes it again)', async () => {
    const decoded = await thread.decode(batch(5).values, batch(5).offsets, batch(5).times);
    thread.release(decoded.id);
    await expect(thread.plan(decoded.id, { refused: new Set(), completed: new Map(), floors: new Map() })).rejects.toThrow(/not held by this planner/);
  });

  it('a schema the registry learns later reaches the thread: what it could not decode it decodes now', async () => {
    let known = false;
    const learning = {
      get: (id: number) => (known ? decoder : `schema id ${id} is not known to the registry`),
      definition: (id: number) => (known ? { schema: JSON.stringify(type.schema()) } : { unusable: `schema id ${id} is not known to the registry` }),
    } as unknown as SchemaRegistryCache;
    const own = new PlanningThread(options, learning, createLogger('test', 'silent'));
    try {
      const value = [encodeAvro(type, SCHEMA_ID, new TrafficGenerator(DEFAULT_TRAFFIC).next(NOW, 0))];
      expect((await own.decode(value, [0], [NOW])).rejected.map((r) => r.code)).toEqual(['DW_ERR_SCHEMA_UNKNOWN']);
      known = true;
      expect((await own.decode(value, [1], [NOW])).accepted).toBe(1);
    } finally {
      await own.close();
    }
  });
});
