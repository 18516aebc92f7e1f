/**
 * The lifecycle of one rule on one series: ok → pending → firing → ok, with hysteresis (fire beyond
 * the threshold, clear only back past a lower line) and a `for` duration. Pure: the caller passes the
 * observation and `now`, persists the returned state, and emits the returned transition.
 */
export type AlertPhase = 'ok' | 'pending' | 'firing';

export interface AlertState {
  phase: AlertPhase;
  /** When the condition started to hold (pending or firing). */
  since: number;
  /** Stable for one incident: set when pending starts, kept through firing and resolution. */
  incident: string;
  value: number;
}

export const OK_STATE: AlertState = { phase: 'ok', since: 0, incident: '', value: 0 };

/** Where an observed value stands against a rule: beyond the threshold, back past the clear line,
 *  in between (the hysteresis band), or unknown because there were too few samples. */
export type Observation = { kind: 'breach' | 'clear' | 'band'; value: number } | { kind: 'insufficient' };

export interface Transition {
  state: AlertState;
  event: 'firing' | 'resolved' | null;
}

export function classify(value: number, direction: 'above' | 'below', threshold: number, clear: number): Observation {
  const breach = direction === 'above' ? value > threshold : value < threshold;
  const cleared = direction === 'above' ? value <= clear : value >= clear;
  return { kind: breach ? 'breach' : cleared ? 'clear' : 'band', value };
}

export function step(
  previous: AlertState,
  observation: Observation,
  now: number,
  forMs: number,
  newIncidentId: (since: number) => string,
): Transition {
  // Too few samples decide nothing: never an alert, and never a resolution either.
  if (observation.kind === 'insufficient') return { state: previous, event: null };
  const { value } = observation;
  switch (previous.phase) {
    case 'ok': {
      if (observation.kind !== 'breach') return { state: { ...previous, value }, event: null };
      const pending: AlertState = { phase: 'pending', since: now, incident: newIncidentId(now), value };
      return forMs <= 0 ? { state: { ...pending, phase: 'firing' }, event: 'firing' } : { state: pending, event: null };
    }
    case 'pending': {
      if (observation.kind !== 'breach') return { state: { ...OK_STATE, value }, event: null };
      if (now - previous.since >= forMs) return { state: { ...previous, phase: 'firing', value }, event: 'firing' };
      return { state: { ...previous, value }, event: null };
    }
    case 'firing': {
      if (observation.kind === 'clear') return { state: { ...previous, phase: 'ok', value }, event: 'resolved' };
      return { state: { ...previous, value }, event: null };
    }
  }
}
