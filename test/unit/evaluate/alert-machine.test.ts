import { describe, expect, it } from 'vitest';
import { classify, OK_STATE, step, type AlertState } from '../../../src/evaluate/alert-machine.ts';

const id = (since: number) => `incident-${since}`;
const run = (values: (number | null)[], forMs: number, threshold = 0.2, clear = 0.1) => {
  let state: AlertState = OK_STATE;
  const events: string[] = [];
  values.forEach((value, i) => {
    const observation = value === null ? ({ kind: 'insufficient' } as const) : classify(value, 'above', threshold, clear);
    const transition = step(state, observation, i * 10_000, forMs, id);
    state = transition.state;
    if (transition.event) events.push(`${transition.event}@${i}:${state.incident}`);
  });
  return { state, events };
};

describe('alert state machine', () => {
  it('fires once and resolves once, with hysteresis between the two lines', () => {
    const { events, state } = run([0.05, 0.3, 0.25, 0.15, 0.3, 0.15, 0.09, 0.3], 0);
    expect(events).toEqual(['firing@1:incident-10000', 'resolved@6:incident-10000', 'firing@7:incident-70000']);
    expect(state.phase).toBe('firing');
  });

  it('waits the for duration before firing and forgets a breach that ends early', () => {
    expect(run([0.3, 0.3, 0.05, 0.3, 0.3, 0.3], 20_000).events).toEqual(['firing@5:incident-30000']);
  });

  it('never fires or resolves on insufficient data', () => {
    expect(run([null, null, 0.3, null, null], 0).events).toEqual(['firing@2:incident-20000']);
    expect(run([null, null, 0.3, null, null], 0).state.phase).toBe('firing');
  });

  it('classifies "below" rules the other way round', () => {
    expect(classify(0.7, 'below', 0.8, 0.85)).toEqual({ kind: 'breach', value: 0.7 });
    expect(classify(0.82, 'below', 0.8, 0.85)).toEqual({ kind: 'band', value: 0.82 });
    expect(classify(0.9, 'below', 0.8, 0.85)).toEqual({ kind: 'clear', value: 0.9 });
  });
});
