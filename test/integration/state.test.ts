import { readFileSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admission, ModelSummary, PerformanceSummary, planPredictions, type PositionedEvent } from '../../src/aggregate/index.ts';
import { parseTopology } from '../../src/config/topology.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { encodeJoinRecord, JOIN_SHARDS, packJoinRecords } from '../../src/join/index.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import { encodeJournal } from '../../src/state/batch-store.ts';
import type { PredictionWrite } from '../../src/state/index.ts';
import { ENDPOINTS, STATE_MODES, stateAddress, uniqueName, type StateMode } from '../kit/index.ts';

const MINUTE = 60_000;
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE;
const aggregation = { bucketMs: MINUTE, maxModels: 2000, maxFeaturesPerModel: 10, maxCategories: 10 };

const event = (i: number, model = 'v1'): PredictionEvent => ({
  prediction_id: String(i),
  predictor_name: 'eta',
  model_id: model,
  role: 'primary',
  sent_at: T0 + (i % 50) * 1000,
  features: { a: i, b: i % 2 === 0 ? 'x' : 'y' },
  prediction: i,
  prediction_scores: null,
  default_values_used: [],
  latency_ms: 5,
  error: null,
});

/** The write of offsets [from, to) of partition t/0, one event per offset, as the prediction source plans it. */
function write(from: number, to: number, options: { models?: (i: number) => string; floors?: Map<string, number>; topic?: string } = {}): PredictionWrite {
  const events: PositionedEvent[] = [];
  for (let i = from; i < to; i++) events.push({ offset: i, event: event(i, options.models?.(i)) });
  const plan = planPredictions(events, { aggregation, admission: new Admission(2000, 10), joinSampleRate: undefined, ...(options.floors ? { floors: options.floors } : {}) });
  return { topic: options.topic ?? 't', partition: 0, first: from, last: to - 1, models: plan.models, joinGroups: [], deadLetters: new Map([['DW_ERR_DECODE', 1]]), overflowModelEvents: 0 };
}

/** A raw client on the same deployment, for what only a test looks at directly. */
const rawClient = (mode: StateMode): Redis | Cluster =>
  mode === 'cluster' ? new Cluster(ENDPOINTS.redisClusterNodes.map((node) => ({ host: node.split(':')[0]!, port: Number(node.split(':')[1]) }))) : new Redis(ENDPOINTS.redisUrl);

describe.each(STATE_MODES)('Redis state (%s): exactly-once writes, compaction, the label join', (mode) => {
  const prefix = uniqueName(`test:state-${mode}`);
  const topology = parseTopology({ state: { ...stateAddress(mode), key_prefix: prefix, caps: { features_per_model: 10 } } });
  let state: SummaryState;
  let raw: Redis | Cluster;

  beforeAll(() => {
    state = openTopologyState(topology, { compactAt: 4 });
    raw = rawClient(mode);
    raw.defineCommand('dwCompactList', { numberOfKeys: 1, lua: readFileSync(new URL('../../src/state/scripts/compact-list.lua', import.meta.url), 'utf8') });
  });
  afterAll(async () => {
    await state.admin.purge();
    await state.close();
    await raw.quit();
  });

  it('applies a batch once; a replay or a zombie writer with a stale watermark writes nothing', async () => {
    expect(await state.batches.watermark('t', 0)).toBe(-1);
    expect(await state.batches.applyPredictions(write(0, 100))).toEqual({ kind: 'applied', refusedFeatures: 0 });
    // The same batch again (a redelivery after a crash before the commit): refused.
    expect(await state.batches.applyPredictions(write(0, 100))).toEqual({ kind: 'watermark', watermark: 99 });
    // A zombie that read the watermark before the write above: refused too.
    expect(await state.batches.applyPredictions(write(50, 150))).toEqual({ kind: 'watermark', watermark: 99 });
    expect(await state.batches.applyPredictions(write(100, 150))).toMatchObject({ kind: 'applied' });
    expect(await state.batches.watermark('t', 0)).toBe(149);

    const key = (await state.windows.models())[0]!.key;
    const totals = await state.windows.totals(key);
    expect(totals.count).toBe(150);
    expect(totals.features.get('a')).toBe(150);
    expect((await state.windows.counters()).dlq).toEqual({ DW_ERR_DECODE: 2 });
    const [window] = await state.windows.summaries(key, 'fine', [T0]);
    expect(window!.count).toBe(150);
    expect(window!.features.get('a')!.numeric!.moments.sum).toBe((149 * 150) / 2);
  });

  it('refuses a write whose expected watermark is not the stored one (Redis lost writes)', async () => {
    const cas = { topic: 'cas', models: () => 'cas' };
    expect(await state.batches.applyPredictions({ ...write(0, 10, cas), expected: -1 })).toMatchObject({ kind: 'applied' });
    // The worker wrote up to 19, but Redis came back from a file that has only the first write.
    expect(await state.batches.applyPredictions({ ...write(20, 30, cas), expected: 19 })).toEqual({ kind: 'watermark', watermark: 9 });
    expect(await state.batches.watermark('cas', 0)).toBe(9);
    // One Redis: refused whole (on a cluster the models' calls of the refused write went ahead: README).
    if (mode === 'single') {
      expect((await state.windows.totals('eta/cas')).count).toBe(10);
      expect(await state.batches.applyPredictions({ ...write(10, 30, cas), expected: 9 })).toMatchObject({ kind: 'applied' });
      expect((await state.windows.totals('eta/cas')).count).toBe(30);
    }
  });

  it('caps the fleet\'s model registry and reports what it refused', async () => {
    const prefix = uniqueName(`test:cap-${mode}`);
    const capped = openTopologyState(parseTopology({ state: { ...stateAddress(mode), key_prefix: prefix, caps: { models: 3 } } }));
    try {
      const models = Array.from({ length: 5 }, (_, i) => ({ key: `p/m${i}`, predictor: 'p', model: `m${i}`, role: 'primary' }));
      expect([...(await capped.batches.admitModels(models))].sort()).toEqual(['p/m3', 'p/m4']);
      // Admitted once, admitted for good; the rest stay refused.
      expect([...(await capped.batches.admitModels([models[0]!, models[4]!]))]).toEqual(['p/m4']);
      expect((await capped.windows.models()).map((model) => model.key)).toEqual(['p/m0', 'p/m1', 'p/m2']);
    } finally {
      await capped.admin.purge();
      await capped.close();
    }
  });

  it('writes a model whose part is in already only above its floor (a crashed writer\'s partial write)', async () => {
    const models = (i: number) => (i % 2 === 0 ? 'even' : 'odd');
    // The previous owner of partition q/0 got the even model's part of [200, 300) in (as a cluster's
    // per-model call lands it) and died before the rest: its watermark and counts, by hand.
    const even = state.keys.model('eta/even');
    await raw.hset(even.watermarks, 'q/0', 299);
    await raw.hincrby(even.totals, 'n', 50);
    // The next owner replays [200, 300): the even model refuses with its floor, the partition has moved nowhere.
    const replay = await state.batches.applyPredictions(write(200, 300, { models, topic: 'q' }));
    expect(replay).toEqual({ kind: 'floors', floors: new Map([['eta/even', 299]]) });
    // Planned again above the floors, as the batch runner does, until it is in (on a cluster the odd
    // model's call landed beside the refused one, so a second round finds its floor too).
    const floors = new Map([['eta/even', 299]]);
    let result = await state.batches.applyPredictions(write(200, 300, { models, topic: 'q', floors }));
    for (let round = 0; result.kind === 'floors' && round < 2; round++) {
      for (const [model, floor] of result.floors) floors.set(model, floor);
      result = await state.batches.applyPredictions(write(200, 300, { models, topic: 'q', floors }));
    }
    expect(result).toMatchObject({ kind: 'applied' });
    expect((await state.windows.totals('eta/even')).count).toBe(50);
    expect((await state.windows.totals('eta/odd')).count).toBe(50);
    expect(await state.batches.watermark('q', 0)).toBe(299);
  });

  it('compacts a long bucket list into one element without changing what it sums to, keeping the TTL', async () => {
    let last = 149;
    for (let batch = 0; batch < 4; batch++) {
      expect((await state.batches.applyPredictions(write(last + 1, last + 11))).kind).toBe('applied');
      last += 10;
    }
    const key = (await state.windows.models()).find((model) => model.model === 'v1')!.key;
    const fineList = state.keys.model(key).bucket('fine', T0);
    await new Promise((resolve) => setTimeout(resolve, 300)); // background compaction (compactAt 4)
    expect(await raw.llen(fineList)).toBeLessThanOrEqual(2);
    expect(await raw.pttl(fineList)).toBeGreaterThan(89 * MINUTE);
    const [after] = await state.windows.summaries(key, 'fine', [T0]);
    expect(after!.count).toBe(190);
    const sumOf = (from: number, to: number) => ((to - 1 + from) * (to - from)) / 2;
    expect(after!.features.get('a')!.numeric!.moments.sum).toBe(sumOf(0, 190));
    // A reader that merged a list of several deltas writes the merge back.
    await state.batches.applyPredictions(write(190, 200));
    await state.windows.summaries(key, 'fine', [T0]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await raw.llen(fineList)).toBe(1);
    expect((await state.windows.summaries(key, 'fine', [T0]))[0]!.count).toBe(200);
    // A compactor that read an older prefix finds the list moved on and writes nothing.
    expect(await raw.dwCompactList(fineList, 3, Buffer.from('x'), 'stale', 'stale')).toBe(0);
  });

  it('writes 10-second deltas to their recent lists beside the fine and coarse ones, on the model\'s tag; reading recent lists writes nothing back', async () => {
    // The worker aggregates per recent bucket when recent buckets are kept (the default: 10 s kept 1 m).
    const plan = (from: number, to: number) =>
      planPredictions(
        Array.from({ length: to - from }, (_, k) => ({ offset: from + k, event: event(from + k, 'recent') })),
        { aggregation: { ...aggregation, bucketMs: 10_000 }, admission: new Admission(2000, 10), joinSampleRate: undefined },
      );
    const apply = (from: number, to: number) =>
      state.batches.applyPredictions({ topic: 'recent', partition: 0, first: from, last: to - 1, models: plan(from, to).models, joinGroups: [], deadLetters: new Map(), overflowModelEvents: 0 });
    const starts = [0, 1, 2, 3, 4].map((k) => T0 + k * 10_000);
    expect(plan(0, 100).models[0]!.buckets.map((bucket) => bucket.start)).toEqual(starts);
    expect((await apply(0, 100)).kind).toBe('applied');
    const keys = state.keys.model('eta/recent');
    const recentList = keys.bucket('recent', T0 + 10_000);
    // Same hash tag as the model's other keys: one slot, so the write stays one call per model on a cluster.
    expect(recentList.startsWith(`${keys.tag}:`)).toBe(true);
    expect(await raw.llen(recentList)).toBe(1);
    const ttl = await raw.pttl(recentList);
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(70_000); // keep 1 m + the bucket
    // Every 10-second delta also lands in the minute's fine list and the hour's coarse list.
    const fine = await state.windows.summaries('eta/recent', 'fine', [T0]);
    expect(fine[0]!.count).toBe(100);
    expect((await state.windows.summaries('eta/recent', 'recent', starts)).map((summary) => summary.count)).toEqual([20, 20, 20, 20, 20]);
    // A second batch makes each recent list two deltas long: read and merged, not written back.
    expect((await apply(100, 200)).kind).toBe('applied');
    expect((await state.windows.summaries('eta/recent', 'recent', starts)).map((summary) => summary.count)).toEqual([40, 40, 40, 40, 40]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await raw.llen(recentList)).toBe(2);
    const [window] = await state.windows.summaries('eta/recent', 'recent', [T0 + 20_000]);
    expect(window!.features.get('a')!.numeric!.moments.count).toBe(40);
  });

  it('keeps join records per slot and shard; a label claims its record once, a duplicate finds it claimed, a replay finds its own claim', async () => {
    const slotMs = 21 * 60 * MINUTE; // an eighth of the 7-day TTL
    const record = (i: number) => encodeJoinRecord({ model: 'eta/v1', sentAt: T0 - (i % 2) * slotMs, prediction: i, scores: null });
    const joins = [
      { predictionId: 'é'.repeat(40), sentAt: T0, record: record(0) },
      { predictionId: 'z'.repeat(256), sentAt: T0 - slotMs, record: record(1) },
      ...Array.from({ length: 3000 }, (_, i) => ({ predictionId: `id-${i}`, sentAt: T0 - (i % 2) * slotMs, record: record(i) })),
    ];
    const base = { topic: 'j', partition: 0, models: [], deadLetters: new Map(), overflowModelEvents: 0 };
    const pack = (entries: typeof joins) => packJoinRecords(entries, state.joins.slots);
    expect((await state.batches.applyPredictions({ ...base, first: 0, last: 0, joinGroups: pack(joins) })).kind).toBe('applied');
    const claims = await state.joins.claim([...joins.map((join) => ({ predictionId: join.predictionId, source: 'labels/0/1' })), { predictionId: 'never-seen', source: 'labels/0/1' }], T0);
    expect(claims.slice(0, -1).every((claim, i) => claim.found === 'claimed' && claim.record.equals(joins[i]!.record))).toBe(true);
    expect(claims.at(-1)).toEqual({ found: 'none' });
    // A second label of the same prediction: a duplicate. The same label again (replayed): its own claim, record at hand.
    const [other, mine] = await state.joins.claim([{ predictionId: 'id-7', source: 'labels/1/9' }, { predictionId: 'id-7', source: 'labels/0/1' }], T0);
    expect(other).toEqual({ found: 'other' });
    expect(mine).toMatchObject({ found: 'mine' });
    expect((mine as { record: Buffer }).record.equals(joins[9]!.record)).toBe(true);
    // A later prediction with a claimed id (a producer's retry) changes nothing.
    await state.batches.applyPredictions({ ...base, first: 1, last: 1, joinGroups: pack([{ predictionId: 'id-7', sentAt: T0, record: record(99) }]) });
    expect((await state.joins.claim([{ predictionId: 'id-7', source: 'labels/0/1' }], T0))[0]).toMatchObject({ found: 'mine' });
    // Two slots × every shard, each expiring a TTL after its slot ends.
    const hashes = [];
    for (let shard = 0; shard < JOIN_SHARDS; shard++) for (const slot of [state.joins.slots.slotOf(T0), state.joins.slots.slotOf(T0 - slotMs)]) hashes.push(state.keys.joinSlot(slot, shard));
    const ttls = await Promise.all(hashes.map((hash) => raw.pttl(hash)));
    expect(ttls.every((ttl) => ttl > 7 * 24 * 60 * MINUTE - 2 * slotMs && ttl <= 7 * 24 * 60 * MINUTE + slotMs)).toBe(true);
  });

  it('commits a label batch once and applies its performance to the model; waiting labels resolve once', async () => {
    const model = 'eta/labelled';
    const performance = new PerformanceSummary();
    performance.add({ prediction: 'a', scores: null, label: 'a', delayMs: 10 });
    const models = [{ key: model, labeled: 1, buckets: [{ start: T0, bytes: performance.encode() }] }];
    const commit = { topic: 'labels', partition: 0, range: { first: 0, last: 9 }, outcomes: new Map([['joined', 1], ['pending', 1]]), deadLetters: new Map(), pendingAdded: [{ member: 'waiting-1', score: T0 }], pendingResolved: [], models };
    expect(await state.batches.commitLabels(commit)).toEqual({ kind: 'applied' });
    expect(await state.batches.commitLabels(commit)).toEqual({ kind: 'watermark', watermark: 9 });
    expect((await state.windows.totals(model)).labeled).toBe(1);
    expect((await state.windows.performance(model, 'fine', T0, T0 + MINUTE)).labeled).toBe(1);
    expect(await state.joins.pending('labels', 0, 10)).toEqual([['waiting-1', T0]]);
    // A retry round resolves the waiting label; another writer resolving it again conflicts and writes nothing.
    const retry = { topic: 'labels', partition: 0, outcomes: new Map([['unknown', 1]]), deadLetters: new Map(), pendingAdded: [], pendingResolved: ['waiting-1'], models: [] };
    expect(await state.batches.commitLabels(retry)).toEqual({ kind: 'applied' });
    expect(await state.batches.commitLabels(retry)).toEqual({ kind: 'conflict' });
    expect((await state.windows.counters()).labels).toEqual({ joined: 1, pending: 1, unknown: 1 });
    expect(await state.joins.pendingCount([{ topic: 'labels', partition: 0 }])).toBe(0);

    // A commit whose writer died before applying it: the next writer of the partition applies it, once.
    const keys = state.keys.partition('labels', 0);
    const seq = Number(await raw.hget(keys.state, 'seq')) + 1;
    const entry = encodeJournal(models);
    await raw.hset(keys.state, 'seq', seq);
    await raw.hset(keys.journal, String(seq), entry);
    expect(await state.batches.drainJournal('labels', 0)).toBe(1);
    expect((await state.windows.totals(model)).labeled).toBe(2);
    expect(await raw.hlen(keys.journal)).toBe(0);
    // The same entry seen again (a concurrent drainer read it before it was deleted): the model has it.
    await raw.hset(keys.journal, String(seq), entry);
    expect(await state.batches.drainJournal('labels', 0)).toBe(1);
    expect((await state.windows.totals(model)).labeled).toBe(2);
    expect(await raw.hlen(keys.journal)).toBe(0);
  });
});

describe('Redis Cluster layout', () => {
  it('spreads 1,000 models over every master (each holds at least 20 % of the keys)', async () => {
    const state = openTopologyState(parseTopology({ state: { ...stateAddress('cluster'), key_prefix: uniqueName('test:spread') } }));
    try {
      const models = (i: number) => `m${i % 1000}`;
      expect((await state.batches.applyPredictions(write(0, 3000, { models, topic: 'spread' }))).kind).toBe('applied');
      const perNode = await state.admin.keysPerNode();
      const total = [...perNode.values()].reduce((sum, n) => sum + n, 0);
      expect(perNode.size).toBe(3);
      for (const [node, count] of perNode) expect(count / total, `share of ${node}`).toBeGreaterThanOrEqual(0.2);
      expect(ModelSummary.combine(await state.windows.summaries('eta/m7', 'fine', [T0])).count).toBe(3);
    } finally {
      await state.admin.purge();
      await state.close();
    }
  });
});
