import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Aggregator } from '../../src/aggregate/index.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { RedisStateStore } from '../../src/state/index.ts';
import { REDIS_URL, uniqueName } from '../helpers/stack.ts';

const MINUTE = 60_000;
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE;

const event = (i: number): PredictionEvent => ({
  prediction_id: String(i),
  predictor_name: 'eta',
  model_id: 'v1',
  role: 'primary',
  sent_at: T0 + (i % 50) * 1000,
  features: { a: i, b: i % 2 === 0 ? 'x' : 'y' },
  prediction: i,
  prediction_scores: null,
  default_values_used: [],
  latency_ms: 5,
  error: null,
});

function deltas(from: number, to: number) {
  const aggregator = new Aggregator({ bucketMs: MINUTE, maxModels: 10, maxFeaturesPerModel: 10, maxCategories: 10 });
  for (let i = from; i < to; i++) aggregator.record(event(i));
  return aggregator.drain().deltas;
}

describe('Redis state: the exactly-once watermark and bucket compaction', () => {
  const prefix = uniqueName('test:state');
  let store: RedisStateStore;
  const options = {
    prefix,
    fine: { bucketMs: MINUTE, keepMs: 90 * MINUTE },
    coarse: { bucketMs: 60 * MINUTE, keepMs: 48 * 60 * MINUTE },
    maxFeaturesPerModel: 10,
    compactAt: 4,
  };
  const write = (expectedWatermark: string, newWatermark: string, from: number, to: number) =>
    store.applyBatch({ topic: 't', partition: 0, expectedWatermark, newWatermark, deltas: deltas(from, to), deadLetters: new Map([['DW_ERR_DECODE', 1]]), overflowModelEvents: 0 });

  beforeAll(() => {
    store = RedisStateStore.connect(REDIS_URL, options);
  });
  afterAll(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`{${prefix}}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    await store.close();
  });

  it('applies a batch once; a replay or a zombie writer with a stale watermark writes nothing', async () => {
    expect(await store.readWatermark('t', 0)).toBe('');
    expect(await write('', '99', 0, 100)).toMatchObject({ applied: true, watermark: '99' });
    // The same batch again (a redelivery after a crash before the commit): refused.
    expect(await write('', '99', 0, 100)).toEqual({ applied: false, watermark: '99' });
    // A zombie that read the watermark before the write above: refused too.
    expect(await write('', '149', 0, 150)).toEqual({ applied: false, watermark: '99' });
    expect(await write('99', '149', 100, 150)).toMatchObject({ applied: true, watermark: '149' });

    const key = (await store.models())[0]!.key;
    const totals = await store.totals(key);
    expect(totals.count).toBe(150);
    expect(totals.features.get('a')).toBe(150);
    expect(await store.counters('dlq')).toEqual({ DW_ERR_DECODE: 2 });
    const window = await store.window(key, 'fine', T0, T0 + MINUTE);
    expect(window.count).toBe(150);
    expect(window.features.get('a')!.numeric!.moments.sum).toBe((149 * 150) / 2);
  });

  it('compacts a long bucket list into one element without changing what it sums to, keeping the TTL', async () => {
    let watermark = Number(await store.readWatermark('t', 0));
    let longLists: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const from = 1000 + batch * 10;
      const result = await write(String(watermark), String(watermark + 10), from, from + 10);
      watermark += 10;
      if (result.applied) longLists = longLists.concat(result.longLists);
    }
    expect(longLists.length).toBeGreaterThan(0);
    const key = (await store.models())[0]!.key;
    const fineList = store.keys.bucket('fine', key, T0);
    expect(await store.redis.llen(fineList)).toBeGreaterThanOrEqual(4);
    for (const list of longLists) expect(await store.compact(list)).toBe(true);
    expect(await store.redis.llen(fineList)).toBe(1);
    expect(await store.redis.pttl(fineList)).toBeGreaterThan(89 * MINUTE);
    // Nothing lost or doubled: the 150 events of the first test and the 40 of this one.
    const after = await store.window(key, 'fine', T0, T0 + MINUTE);
    expect(after.count).toBe(190);
    const sumOf = (from: number, to: number) => ((to - 1 + from) * (to - from)) / 2;
    expect(after.features.get('a')!.numeric!.moments.sum).toBe(sumOf(0, 150) + sumOf(1000, 1040));
    // A reader that merges a list of several deltas writes the merge back.
    const coarseList = store.keys.bucket('coarse', key, T0 - (T0 % (60 * MINUTE)));
    await write(String(watermark), String(watermark + 10), 2000, 2010);
    expect(await store.redis.llen(fineList)).toBe(2);
    expect((await store.window(key, 'fine', T0, T0 + MINUTE)).count).toBe(200);
    await store.redis.ping();
    expect(await store.redis.llen(fineList)).toBe(1);
    expect(await store.redis.llen(coarseList)).toBeGreaterThan(0);
    // A compactor that read an older prefix finds the list moved on and writes nothing.
    expect(await store.redis.dwCompactList(fineList, 3, Buffer.from('x'), 'stale', 'stale')).toBe(0);
  });

  it('keeps join records in slot hashes: every id and record byte back, the first record of an id wins, a labeled mark stays', async () => {
    const record = (length: number, fill: number) => Buffer.alloc(length, fill);
    // Ids and records across every MessagePack length form (fixstr, str8, str16), multibyte ids, and
    // sent_at in two slots (a slot is 1/8 of the 7-day TTL).
    const slotMs = 21 * 60 * MINUTE;
    const entries = [
      { predictionId: 'a', sentAt: T0, record: record(1, 1) },
      { predictionId: 'x'.repeat(31), sentAt: T0, record: record(31, 2) },
      { predictionId: 'é'.repeat(40), sentAt: T0, record: record(200, 3) },
      { predictionId: 'z'.repeat(256), sentAt: T0 - slotMs, record: record(300, 4) },
      ...Array.from({ length: 3000 }, (_, i) => ({ predictionId: `id-${i}`, sentAt: T0 - (i % 2) * slotMs, record: record(27, i % 256) })),
    ];
    const join = (expectedWatermark: string, newWatermark: string, joins: typeof entries) =>
      store.applyBatch({ topic: 'j', partition: 0, expectedWatermark, newWatermark, deltas: [], deadLetters: new Map(), overflowModelEvents: 0, joins });
    expect(await join('', '0', entries)).toMatchObject({ applied: true });
    const ids = [...entries.map((entry) => entry.predictionId), 'never-seen'];
    const hits = await store.joinRecords(ids, T0);
    expect(hits.slice(0, -1).every((hit, i) => hit !== null && hit.record.equals(entries[i]!.record))).toBe(true);
    expect(hits.at(-1)).toBeNull();
    const hashes = await store.redis.keys(`${store.keys.root}:join:*`);
    // 16 shards × 2 slots, each expiring a TTL after its slot ends.
    expect(hashes.length).toBe(32);
    const ttl = await store.redis.pttl(hashes[0]!);
    expect(ttl).toBeGreaterThan(7 * 24 * 60 * MINUTE - 2 * slotMs);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 60 * MINUTE + slotMs);

    // A label marks one record; a later prediction with the same id (a producer's retry) changes nothing.
    const marked = await store.applyLabels({ deltas: [], labeled: new Map(), outcomes: new Map(), joined: [{ predictionId: 'a', slotKey: hits[0]!.slotKey }], pendingAdded: [], pendingResolved: [] });
    expect(marked.applied).toBe(true);
    expect(await join('0', '1', [{ predictionId: 'a', sentAt: T0, record: record(5, 9) }, { predictionId: 'id-0', sentAt: T0, record: record(5, 9) }])).toMatchObject({ applied: true });
    const [a, first] = await store.joinRecords(['a', 'id-0'], T0);
    expect(a!.record.toString()).toBe('L');
    expect(first!.record.equals(entries[4]!.record)).toBe(true);
    // Marking it again is refused as a conflict: a label counts once.
    expect(await store.applyLabels({ deltas: [], labeled: new Map(), outcomes: new Map(), joined: [{ predictionId: 'a', slotKey: a!.slotKey }], pendingAdded: [], pendingResolved: [] })).toEqual({ applied: false, reason: 'conflict' });
  });
});
