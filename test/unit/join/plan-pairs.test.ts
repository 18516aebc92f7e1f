import { describe, expect, it } from 'vitest';
import { PairSummary } from '../../../src/aggregate/index.ts';
import type { PredictionEvent } from '../../../src/events.ts';
import { pairEntryOf, pairField, planPairs, type CompletedPair } from '../../../src/join/index.ts';

const MINUTE = 60_000;
const T = 1_700_000_000_000;
const event = (overrides: Partial<PredictionEvent>): PredictionEvent => ({
  prediction_id: 'p',
  predictor_name: 'eta',
  model_id: 'v1',
  role: 'primary',
  sent_at: T,
  features: {},
  prediction: 'a',
  prediction_scores: null,
  default_values_used: [],
  latency_ms: null,
  error: null,
  request_id: 'r1',
  ...overrides,
});

describe('pairEntryOf', () => {
  it('takes primaries and shadows that answered a request with an id; not canaries, failures or unpaired events', () => {
    expect(pairEntryOf(event({}))).toEqual({ field: pairField('eta', 'r1'), role: 'primary', value: 'a' });
    expect(pairEntryOf(event({ role: 'shadow', prediction: 3.5 }))).toEqual({ field: 'eta\u0000r1', role: 'shadow', value: 3.5 });
    expect(pairEntryOf(event({ role: 'canary' }))).toBeUndefined();
    expect(pairEntryOf(event({ request_id: null }))).toBeUndefined();
    const { request_id: _none, ...versionOne } = event({});
    expect(pairEntryOf(versionOne)).toBeUndefined();
    expect(pairEntryOf(event({ error: 'TIMEOUT', prediction: null }))).toBeUndefined();
    // The predictor is part of the field: the same request id of two predictors is two requests.
    expect(pairField('a/b', 'r')).not.toBe(pairField('a', 'b/r'));
  });
});

describe('planPairs', () => {
  const pair = (shadow: string, shadowValue: string | number, primaryValue: string | number, primary = 'eta/v1'): CompletedPair => ({
    shadow: { model: shadow, value: shadowValue },
    primary: { model: primary, value: primaryValue },
  });

  it('adds each completed pair to its shadow, per fine bucket of the completing prediction, against its primary', () => {
    const events = [
      { offset: 10, event: event({ request_id: 'r1', sent_at: T + 1000 }) }, // a primary completing two shadows' pairs
      { offset: 11, event: event({ role: 'shadow', model_id: 's1', request_id: 'r2', sent_at: T + MINUTE + 5 }) }, // a shadow completing its own
      { offset: 12, event: event({ role: 'shadow', model_id: 's1', request_id: 'r3' }) }, // completes nothing
    ];
    const completed = [[pair('eta/s1', 'a', 'a'), pair('eta/s2', 'b', 'a')], [pair('eta/s1', 'b', 'a')], []];
    const deltas = planPairs(events, completed, MINUTE);
    const byModel = new Map(deltas.map((delta) => [delta.key, delta]));
    expect([...byModel.keys()].sort()).toEqual(['eta/s1', 'eta/s2']);
    expect(byModel.get('eta/s1')!.firstOffset).toBe(10);
    expect(byModel.get('eta/s2')!.firstOffset).toBe(10);
    const s1 = byModel.get('eta/s1')!.buckets.map(({ start, bytes }) => [start, PairSummary.decode(bytes).byBaseline.get('eta/v1')!] as const);
    expect(s1.map(([start, stats]) => [start, stats.classPairs, stats.agree])).toEqual([
      [T - (T % MINUTE), 1, 1],
      [T + MINUTE - ((T + MINUTE) % MINUTE), 1, 0],
    ]);
  });

  it('leaves out pairs completed at or below a shadow\'s floor (its part is in already), as its own events are', () => {
    const events = [
      { offset: 10, event: event({}) },
      { offset: 20, event: event({ request_id: 'r2' }) },
    ];
    const deltas = planPairs(events, [[pair('eta/s1', 'a', 'a')], [pair('eta/s1', 'b', 'a')]], MINUTE, new Map([['eta/s1', 15]]));
    expect(deltas).toHaveLength(1);
    expect(deltas[0]!.firstOffset).toBe(20);
    const stats = PairSummary.decode(deltas[0]!.buckets[0]!.bytes).byBaseline.get('eta/v1')!;
    expect([stats.classPairs, stats.agree]).toEqual([1, 0]);
  });
});
