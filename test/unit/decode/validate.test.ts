import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, validateLabel, validatePrediction } from '../../../src/decode/index.ts';

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const valid = {
  prediction_id: 'p-1',
  predictor_name: 'eta',
  model_id: 'eta-v12',
  sent_at: NOW - 1000,
  features: { distance: 3.2, city: 'sf', is_peak: true, promo: null },
  prediction: 17.5,
  default_values_used: ['promo'],
  latency_ms: 12.5,
};

describe('validatePrediction', () => {
  it('accepts a full event and fills the defaults the schema promises', () => {
    const result = validatePrediction(valid, NOW);
    expect(result).toEqual({
      ok: true,
      event: { ...valid, role: 'primary', prediction_scores: null, error: null, request_id: null },
    });
  });

  it('keeps the optional request_id (schema version 2) and accepts events without it (version 1)', () => {
    const paired = validatePrediction({ ...valid, request_id: 'req-7' }, NOW);
    expect(paired.ok && paired.event.request_id).toBe('req-7');
    const unpaired = validatePrediction({ ...valid, request_id: null }, NOW);
    expect(unpaired.ok && unpaired.event.request_id).toBeNull();
  });

  it('accepts ISO-8601 times from JSON producers', () => {
    const result = validatePrediction({ ...valid, sent_at: new Date(NOW - 5000).toISOString() }, NOW);
    expect(result.ok && result.event.sent_at).toBe(NOW - 5000);
  });

  it.each([
    [{ ...valid, prediction_id: undefined }, 'DW_ERR_VALIDATION', 'prediction_id'],
    [{ ...valid, model_id: '' }, 'DW_ERR_VALIDATION', 'model_id'],
    [{ ...valid, predictor_name: 7 }, 'DW_ERR_VALIDATION', 'predictor_name'],
    [{ ...valid, role: 'champion' }, 'DW_ERR_VALIDATION', 'role'],
    [{ ...valid, sent_at: undefined }, 'DW_ERR_VALIDATION', 'sent_at'],
    [{ ...valid, sent_at: 'yesterday-ish' }, 'DW_ERR_VALUE', 'sent_at'],
    [{ ...valid, sent_at: NOW + 3_600_000 }, 'DW_ERR_TIME', 'future'],
    [{ ...valid, sent_at: NOW - 2 * 3_600_000 }, 'DW_ERR_TIME', 'lateness'],
    [{ ...valid, features: { x: Number.NaN } }, 'DW_ERR_VALUE', 'NaN'],
    [{ ...valid, features: { x: Number.POSITIVE_INFINITY } }, 'DW_ERR_VALUE', 'Infinity'],
    [{ ...valid, features: { x: { nested: 1 } } }, 'DW_ERR_VALIDATION', 'feature "x"'],
    [{ ...valid, features: [1, 2] }, 'DW_ERR_VALIDATION', 'features'],
    [{ ...valid, prediction: Number.NaN }, 'DW_ERR_VALUE', 'prediction'],
    [{ ...valid, prediction_scores: { a: 1.5 } }, 'DW_ERR_VALUE', 'probability'],
    [{ ...valid, default_values_used: [1] }, 'DW_ERR_VALIDATION', 'default_values_used'],
    [{ ...valid, latency_ms: -1 }, 'DW_ERR_VALUE', 'negative'],
    [{ ...valid, error: 500 }, 'DW_ERR_VALIDATION', 'error'],
    [{ ...valid, request_id: 42 }, 'DW_ERR_VALIDATION', 'request_id'],
    [{ ...valid, request_id: '' }, 'DW_ERR_VALIDATION', 'request_id'],
    ['a string', 'DW_ERR_VALIDATION', 'not an object'],
    // Finite but absurd: these used to throw (RangeError: Invalid time value) and stall the partition.
    [{ ...valid, sent_at: 1e300 }, 'DW_ERR_TIME', 'outside the range of times'],
    [{ ...valid, sent_at: -1 }, 'DW_ERR_TIME', 'outside the range of times'],
    [{ ...valid, sent_at: '+275760-09-13T00:00:00.001Z' }, 'DW_ERR_VALUE', 'not a valid time'],
    [{ ...valid, role: { toString: 1, valueOf: 1 } }, 'DW_ERR_VALIDATION', 'an object'],
    [{ ...valid, features: { x: 1e200 } }, 'DW_ERR_VALUE', 'outside ±1e+100'],
    [{ ...valid, features: { ['f'.repeat(257)]: 1 } }, 'DW_ERR_VALIDATION', 'longer than 256 characters'],
    [{ ...valid, features: { c: 'v'.repeat(1025) } }, 'DW_ERR_VALIDATION', 'longer than 1024 characters'],
    [{ ...valid, prediction: 'p'.repeat(1025) }, 'DW_ERR_VALIDATION', '"prediction"'],
    [{ ...valid, prediction_scores: { ['k'.repeat(300)]: 0.5 } }, 'DW_ERR_VALIDATION', 'class name'],
    [{ ...valid, default_values_used: ['d'.repeat(300)] }, 'DW_ERR_VALIDATION', 'default-value feature'],
  ])('rejects %j with %s', (input, code, words) => {
    const result = validatePrediction(input, NOW);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe(code);
      expect(result.reason).toContain(words);
    }
  });

  it('bounds the number of features per event', () => {
    const features = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}`, i]));
    const result = validatePrediction({ ...valid, features }, NOW, { ...DEFAULT_LIMITS, maxFeatures: 10 });
    expect(result.ok === false && result.reason).toContain('more than 10 features');
  });

  it('drops fractions of a millisecond from times', () => {
    const result = validatePrediction({ ...valid, sent_at: NOW - 1000.75 }, NOW);
    expect(result.ok && result.event.sent_at).toBe(NOW - 1001);
  });

  it('bounds classes in scores and names in default_values_used like features', () => {
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 0.01]));
    expect(validatePrediction({ ...valid, prediction_scores: many }, NOW, { ...DEFAULT_LIMITS, maxFeatures: 10 })).toMatchObject({ ok: false, code: 'DW_ERR_VALIDATION' });
    const names = Array.from({ length: 11 }, (_, i) => `f${i}`);
    expect(validatePrediction({ ...valid, default_values_used: names }, NOW, { ...DEFAULT_LIMITS, maxFeatures: 10 })).toMatchObject({ ok: false, code: 'DW_ERR_VALIDATION' });
  });

  it('treats an empty error string as success', () => {
    const result = validatePrediction({ ...valid, error: '' }, NOW);
    expect(result.ok && result.event.error).toBe(null);
  });
});

describe('validateLabel', () => {
  it('accepts numeric and class labels, however late', () => {
    expect(validateLabel({ prediction_id: 'p', label: 3, observed_at: NOW - 86_400_000 * 30 }, NOW).ok).toBe(true);
    expect(validateLabel({ prediction_id: 'p', label: 'cat', observed_at: NOW }, NOW).ok).toBe(true);
  });
  it('rejects a missing label and a future observation', () => {
    expect(validateLabel({ prediction_id: 'p', observed_at: NOW }, NOW)).toMatchObject({ ok: false, code: 'DW_ERR_VALIDATION' });
    expect(validateLabel({ prediction_id: 'p', label: 1, observed_at: NOW + 3_600_000 }, NOW)).toMatchObject({ ok: false, code: 'DW_ERR_TIME' });
  });
  it('rejects absurd times and values instead of throwing', () => {
    expect(validateLabel({ prediction_id: 'p', label: 1, observed_at: -1e300 }, NOW)).toMatchObject({ ok: false, code: 'DW_ERR_TIME' });
    expect(validateLabel({ prediction_id: 'p', label: 1e300, observed_at: NOW }, NOW)).toMatchObject({ ok: false, code: 'DW_ERR_VALUE' });
    expect(validateLabel({ prediction_id: 'p', label: 'l'.repeat(2000), observed_at: NOW }, NOW)).toMatchObject({ ok: false, code: 'DW_ERR_VALIDATION' });
  });
});
