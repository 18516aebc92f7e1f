import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Admission, PairSummary, planPredictions, type PositionedEvent } from '../../src/aggregate/index.ts';
import { parseTopology } from '../../src/config/topology.ts';
import type { PredictionEvent } from '../../src/events.ts';
import { pairField, planPairs } from '../../src/join/index.ts';
import { openTopologyState, type SummaryState } from '../../src/runtime/state.ts';
import type { PairRequest } from '../../src/state/index.ts';
import { rawRedis, STATE_MODES, stateAddress, uniqueName } from '../kit/index.ts';

const MINUTE = 60_000;
const T0 = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

const request = (id: string, model: string, role: 'primary' | 'shadow', offset: number, value: number | string, sentAt = T0 + 1000): PairRequest => ({
  field: pairField('eta', id),
  model: `eta/${model}`,
  role,
  source: `predictions/0/${offset}`,
  value,
  sentAt,
});
const summary = (found: Awaited<ReturnType<SummaryState['pairs']['pair']>>) => found.map((pairs) => pairs.map(({ shadow, primary }) => `${shadow.model}=${shadow.value}~${primary.model}=${primary.value}`));

describe.each(STATE_MODES)('comparison state (%s Redis): the paired-prediction join and fenced verdicts', (mode) => {
  const prefix = uniqueName(`test:cmp-state-${mode}`);
  const topology = parseTopology({ state: { ...stateAddress(mode), key_prefix: prefix }, comparisons: { pair_ttl: '10m' } });
  let state: SummaryState;

  beforeAll(() => {
    state = openTopologyState(topology);
  });
  afterAll(async () => {
    await state.admin.purge();
    await state.close();
  });

  it('completes each shadow/primary pair once, by whichever arrives second, in any order; a replay completes the same pairs again, a duplicate none', async () => {
    // r1: the primary first, then two shadows; r2: a shadow first, then the primary, then the other shadow.
    const first = await state.pairs.pair([request('r1', 'v1', 'primary', 1, 'a'), request('r2', 's1', 'shadow', 2, 'b')]);
    expect(summary(first)).toEqual([[], []]);
    const second = await state.pairs.pair([request('r1', 's1', 'shadow', 3, 'a'), request('r1', 's2', 'shadow', 4, 'c'), request('r2', 'v1', 'primary', 5, 'a')]);
    expect(summary(second)).toEqual([['eta/s1=a~eta/v1=a'], ['eta/s2=c~eta/v1=a'], ['eta/s1=b~eta/v1=a']]);
    const third = await state.pairs.pair([request('r2', 's2', 'shadow', 6, 'a')]);
    expect(summary(third)).toEqual([['eta/s2=a~eta/v1=a']]);

    // Replays (the same sources): each completes what it completed before, and nothing else.
    const replays = await state.pairs.pair([request('r1', 'v1', 'primary', 1, 'a'), request('r2', 's1', 'shadow', 2, 'b'), request('r1', 's1', 'shadow', 3, 'a'), request('r2', 'v1', 'primary', 5, 'a')]);
    expect(summary(replays)).toEqual([[], [], ['eta/s1=a~eta/v1=a'], ['eta/s1=b~eta/v1=a']]);
    // A second message of a model for a request it answered (a producer's retry, another offset): nothing.
    expect(summary(await state.pairs.pair([request('r1', 's1', 'shadow', 9, 'a'), request('r2', 'v1', 'primary', 10, 'a')]))).toEqual([[], []]);
  });

  it('pairs predictions whose sent_at fall either side of a slot boundary, and numbers keep their value', async () => {
    const slot = state.pairs.slots.slotOf(T0 + 5 * MINUTE);
    const before = await state.pairs.pair([request('r9', 'v1', 'primary', 20, 0.1 + 0.2, slot - 1)]);
    const after = await state.pairs.pair([request('r9', 's1', 'shadow', 21, -1.5e-7, slot + 1)]);
    expect(before[0]).toEqual([]);
    expect(after[0]).toEqual([{ shadow: { model: 'eta/s1', value: -1.5e-7 }, primary: { model: 'eta/v1', value: 0.1 + 0.2 } }]);
  });

  it('writes the completed pairs into the shadow\'s unit of the prediction write, once, even for a shadow with no events of its own there', async () => {
    const event = (offset: number, model: string, role: 'primary' | 'shadow', requestId: string, prediction: string): PositionedEvent => ({
      offset,
      event: {
        prediction_id: `${model}-${offset}`,
        predictor_name: 'eta',
        model_id: model,
        role,
        sent_at: T0 + 2000,
        features: {},
        prediction,
        prediction_scores: null,
        default_values_used: [],
        latency_ms: 5,
        error: null,
        request_id: requestId,
      } satisfies PredictionEvent,
    });
    // Partition 0 has the shadow's answers first; partition 1 the primary's, which complete the pairs.
    const shadows = [event(0, 'w2', 'shadow', 'q1', 'a'), event(1, 'w2', 'shadow', 'q2', 'b')];
    const primaries = [event(0, 'w1', 'primary', 'q1', 'a'), event(1, 'w1', 'primary', 'q2', 'a')];
    const apply = async (events: PositionedEvent[], partition: number) => {
      const completed = await state.pairs.pair(events.map(({ offset, event: e }) => ({ field: pairField('eta', e.request_id!), model: `eta/${e.model_id}`, role: e.role as 'primary' | 'shadow', source: `p/${partition}/${offset}`, value: e.prediction!, sentAt: e.sent_at })));
      const plan = planPredictions(events, { aggregation: { bucketMs: MINUTE, maxModels: 10, maxFeaturesPerModel: 10, maxCategories: 10 }, admission: new Admission(10, 10), joinSampleRate: undefined });
      return state.batches.applyPredictions({ topic: 'p', partition, first: 0, last: events.length - 1, models: plan.models, joins: [], pairs: planPairs(events, completed, MINUTE), deadLetters: new Map(), overflowModelEvents: 0 });
    };
    expect((await apply(shadows, 0)).kind).toBe('applied');
    expect((await apply(primaries, 1)).kind).toBe('applied');
    // The primary's batch again (a redelivery): the shadow's watermark for partition 1 refuses its part.
    expect((await apply(primaries, 1)).kind).toBe('watermark');
    const pairs = (await state.windows.pairs('eta/w2', 'fine', T0, T0 + MINUTE)) as PairSummary;
    const stats = pairs.byBaseline.get('eta/w1')!;
    expect([stats.classPairs, stats.agree]).toEqual([2, 1]);
    expect((await state.windows.pairs('eta/w2', 'coarse', T0, T0 + MINUTE)).byBaseline.get('eta/w1')!.classPairs).toBe(2);
    // Each model's role is its latest event's.
    expect(Object.fromEntries(await state.windows.roles(['eta/w1', 'eta/w2']))).toEqual({ 'eta/w1': 'primary', 'eta/w2': 'shadow' });
  });

  it('writes a verdict only under the candidate\'s lease and never over another; acknowledges it', async () => {
    const model = 'eta/c1';
    const lease = state.keys.model(model).lease;
    const raw = rawRedis(mode);
    try {
      await raw.set(lease, 'w-a', 'PX', 60_000);
      expect(await state.comparisons.write('w-b', model, '{"x":1}', 60_000, '{"verdict":"b"}', 60_000)).toBe('lost-lease');
      expect(await state.comparisons.write('w-a', model, '{"x":2}', 60_000, null, 60_000)).toBe('written');
      expect(await state.comparisons.write('w-a', model, '{"x":3}', 60_000, '{"verdict":"a"}', 90_000)).toBe('written');
      expect(await state.comparisons.write('w-a', model, '{"x":4}', 60_000, '{"verdict":"again"}', 90_000)).toBe('decided-before');
      const read = await state.comparisons.read(model);
      expect(read).toEqual({ state: '{"x":3}', verdict: { event: '{"verdict":"a"}', publishedAt: null } });
      expect(await raw.pttl(state.keys.model(model).verdict)).toBeGreaterThan(80_000);
      await state.comparisons.ackVerdict(model, 12345);
      expect((await state.comparisons.verdicts([model, 'eta/none'])).get(model)).toEqual({ event: '{"verdict":"a"}', publishedAt: 12345 });
      // An acknowledgement of a verdict no longer kept does not bring back an empty record.
      await state.comparisons.ackVerdict('eta/none', 1);
      expect(await raw.exists(state.keys.model('eta/none').verdict)).toBe(0);
    } finally {
      await raw.quit();
    }
  });
});
