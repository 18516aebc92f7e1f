import type { ErrorCode } from '../errors.ts';
import { MODEL_ROLES, type FeatureValue, type LabelEvent, type ModelRole, type PredictionEvent } from '../events.ts';

/** A message that cannot be used, with the reason a human reads on the dead-letter topic. */
export interface Rejection {
  ok: false;
  code: ErrorCode;
  reason: string;
}
export type Validated<T> = { ok: true; event: T } | Rejection;

export interface ValidationLimits {
  /** Events whose time is further back than this from `now` are rejected (ms). */
  allowedLatenessMs: number;
  /** Events whose time is further ahead than this from `now` are rejected (ms). */
  maxFutureMs: number;
  maxFeatures: number;
  /** Identifiers (ids, names, categories' names are free) are bounded so that keys stay bounded. */
  maxIdLength: number;
}

export const DEFAULT_LIMITS: ValidationLimits = {
  allowedLatenessMs: 3_600_000,
  maxFutureMs: 300_000,
  maxFeatures: 1000,
  maxIdLength: 256,
};

const reject = (code: ErrorCode, reason: string): Rejection => ({ ok: false, code, reason });

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requiredId(record: Record<string, unknown>, field: string, limits: ValidationLimits): string | Rejection {
  const value = record[field];
  if (value === undefined || value === null) return reject('DW_ERR_VALIDATION', `required field "${field}" is missing`);
  if (typeof value !== 'string' || value.length === 0) return reject('DW_ERR_VALIDATION', `"${field}" must be a non-empty string`);
  if (value.length > limits.maxIdLength) return reject('DW_ERR_VALIDATION', `"${field}" is longer than ${limits.maxIdLength} characters`);
  return value;
}

/** Epoch millis from a number or an ISO-8601 string (JSON producers send either). */
function timestamp(record: Record<string, unknown>, field: string): number | Rejection {
  const value = record[field];
  if (value === undefined || value === null) return reject('DW_ERR_VALIDATION', `required field "${field}" is missing`);
  const ms = typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : Number.NaN;
  if (typeof value !== 'number' && typeof value !== 'string') {
    return reject('DW_ERR_VALIDATION', `"${field}" must be epoch milliseconds or an ISO-8601 string`);
  }
  if (!Number.isFinite(ms)) return reject('DW_ERR_VALUE', `"${field}" is not a valid time: ${String(value)}`);
  return ms;
}

function checkTime(field: string, ms: number, now: number, limits: ValidationLimits): Rejection | undefined {
  if (ms < now - limits.allowedLatenessMs) {
    return reject('DW_ERR_TIME', `"${field}" ${new Date(ms).toISOString()} is older than the allowed lateness of ${limits.allowedLatenessMs / 1000}s`);
  }
  if (ms > now + limits.maxFutureMs) {
    return reject('DW_ERR_TIME', `"${field}" ${new Date(ms).toISOString()} is more than ${limits.maxFutureMs / 1000}s in the future`);
  }
  return undefined;
}

function finiteOrNull(value: unknown, what: string): number | null | Rejection {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') return reject('DW_ERR_VALIDATION', `${what} must be a number`);
  if (!Number.isFinite(value)) return reject('DW_ERR_VALUE', `${what} is ${value}, not a finite number`);
  return value;
}

const isRejection = (value: unknown): value is Rejection => isRecord(value) && value['ok'] === false;

/**
 * Checks a decoded prediction log against the event contract (BRIEF "Events"). Pure: `now` is the
 * worker's clock, passed in, against which lateness and future timestamps are judged.
 */
export function validatePrediction(input: unknown, now: number, limits: ValidationLimits = DEFAULT_LIMITS): Validated<PredictionEvent> {
  if (!isRecord(input)) return reject('DW_ERR_VALIDATION', 'the event is not an object');
  const predictionId = requiredId(input, 'prediction_id', limits);
  if (isRejection(predictionId)) return predictionId;
  const predictorName = requiredId(input, 'predictor_name', limits);
  if (isRejection(predictorName)) return predictorName;
  const modelId = requiredId(input, 'model_id', limits);
  if (isRejection(modelId)) return modelId;

  const rawRole = input['role'] ?? 'primary';
  if (!MODEL_ROLES.includes(rawRole as ModelRole)) {
    return reject('DW_ERR_VALIDATION', `"role" must be one of ${MODEL_ROLES.join(', ')}, got ${JSON.stringify(rawRole)}`);
  }

  const sentAt = timestamp(input, 'sent_at');
  if (isRejection(sentAt)) return sentAt;
  const late = checkTime('sent_at', sentAt, now, limits);
  if (late) return late;

  const rawFeatures = input['features'] ?? {};
  if (!isRecord(rawFeatures)) return reject('DW_ERR_VALIDATION', '"features" must be an object of name → value');
  let featureCount = 0;
  for (const name in rawFeatures) {
    if (++featureCount > limits.maxFeatures) {
      return reject('DW_ERR_VALIDATION', `more than ${limits.maxFeatures} features in one event`);
    }
    const value = rawFeatures[name];
    if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean') continue;
    if (typeof value !== 'number') return reject('DW_ERR_VALIDATION', `feature "${name}" must be a number, string, boolean or null`);
    if (!Number.isFinite(value)) return reject('DW_ERR_VALUE', `feature "${name}" is ${value}, not a finite number`);
  }

  const rawPrediction = input['prediction'] ?? null;
  if (rawPrediction !== null && typeof rawPrediction !== 'string' && typeof rawPrediction !== 'number') {
    return reject('DW_ERR_VALIDATION', '"prediction" must be a number or a string');
  }
  if (typeof rawPrediction === 'number' && !Number.isFinite(rawPrediction)) {
    return reject('DW_ERR_VALUE', `"prediction" is ${rawPrediction}, not a finite number`);
  }

  let scores: Record<string, number> | null = null;
  const rawScores = input['prediction_scores'];
  if (rawScores !== undefined && rawScores !== null) {
    if (!isRecord(rawScores)) return reject('DW_ERR_VALIDATION', '"prediction_scores" must be an object of class → probability');
    scores = {};
    for (const label in rawScores) {
      const score = rawScores[label];
      if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1) {
        return reject('DW_ERR_VALUE', `prediction score for "${label}" must be a probability in [0, 1], got ${String(score)}`);
      }
      scores[label] = score;
    }
  }

  const rawDefaults = input['default_values_used'] ?? [];
  if (!Array.isArray(rawDefaults) || !rawDefaults.every((name) => typeof name === 'string')) {
    return reject('DW_ERR_VALIDATION', '"default_values_used" must be an array of feature names');
  }

  const latency = finiteOrNull(input['latency_ms'], '"latency_ms"');
  if (isRejection(latency)) return latency;
  if (latency !== null && latency < 0) return reject('DW_ERR_VALUE', `"latency_ms" is negative (${latency})`);

  const rawError = input['error'] ?? null;
  if (rawError !== null && typeof rawError !== 'string') return reject('DW_ERR_VALIDATION', '"error" must be a string error code');

  // Optional (prediction-log.avsc version 2): producers on version 1, and JSON without it, leave it out.
  const rawRequest = input['request_id'] ?? null;
  if (rawRequest !== null && (typeof rawRequest !== 'string' || rawRequest.length === 0 || rawRequest.length > limits.maxIdLength)) {
    return reject('DW_ERR_VALIDATION', `"request_id" must be a non-empty string of at most ${limits.maxIdLength} characters`);
  }

  return {
    ok: true,
    event: {
      prediction_id: predictionId,
      predictor_name: predictorName,
      model_id: modelId,
      role: rawRole as ModelRole,
      sent_at: sentAt,
      features: rawFeatures as Record<string, FeatureValue>,
      prediction: rawPrediction,
      prediction_scores: scores,
      default_values_used: rawDefaults as string[],
      latency_ms: latency,
      error: rawError === '' ? null : rawError,
      request_id: rawRequest,
    },
  };
}

/** Checks a decoded label. Labels may legitimately arrive long after the prediction: no lateness bound. */
export function validateLabel(input: unknown, now: number, limits: ValidationLimits = DEFAULT_LIMITS): Validated<LabelEvent> {
  if (!isRecord(input)) return reject('DW_ERR_VALIDATION', 'the label is not an object');
  const predictionId = requiredId(input, 'prediction_id', limits);
  if (isRejection(predictionId)) return predictionId;
  const label = input['label'];
  if (label === undefined || label === null) return reject('DW_ERR_VALIDATION', 'required field "label" is missing');
  if (typeof label !== 'number' && typeof label !== 'string') return reject('DW_ERR_VALIDATION', '"label" must be a number or a string');
  if (typeof label === 'number' && !Number.isFinite(label)) return reject('DW_ERR_VALUE', `"label" is ${label}, not a finite number`);
  const observedAt = timestamp(input, 'observed_at');
  if (isRejection(observedAt)) return observedAt;
  if (observedAt > now + limits.maxFutureMs) {
    return reject('DW_ERR_TIME', `"observed_at" ${new Date(observedAt).toISOString()} is more than ${limits.maxFutureMs / 1000}s in the future`);
  }
  return { ok: true, event: { prediction_id: predictionId, label, observed_at: observedAt } };
}
