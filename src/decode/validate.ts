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
  /** Features per event; also bounds prediction_scores and default_values_used. */
  maxFeatures: number;
  /** Identifiers (prediction id, predictor, model) are bounded so that keys stay bounded. */
  maxIdLength: number;
  /** Feature and class names: each becomes a hash field, a summary entry and maybe a metric label. */
  maxNameLength: number;
  /** String values (categories, class predictions, labels, error codes): kept in category counts. */
  maxValueLength: number;
}

export const DEFAULT_LIMITS: ValidationLimits = {
  allowedLatenessMs: 3_600_000,
  maxFutureMs: 300_000,
  maxFeatures: 1000,
  maxIdLength: 256,
  maxNameLength: 256,
  maxValueLength: 1024,
};

/**
 * Numbers a sketch can take: moments keep sums of squares, which overflow to Infinity past ~1.3e154 (and
 * a summary holding Infinity is refused when read back). 1e100 leaves room for 10^100 such squares.
 */
export const MAX_ABS_VALUE = 1e100;

/** The range a JavaScript Date can hold (±8.64e15 ms, ECMA-262 §21.4.1.1); times outside are not times. */
const MAX_TIME_MS = 8.64e15;

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

/** Epoch millis from a number or an ISO-8601 string (JSON producers send either); fractions of a ms are dropped. */
function timestamp(record: Record<string, unknown>, field: string): number | Rejection {
  const value = record[field];
  if (value === undefined || value === null) return reject('DW_ERR_VALIDATION', `required field "${field}" is missing`);
  if (typeof value !== 'number' && typeof value !== 'string') {
    return reject('DW_ERR_VALIDATION', `"${field}" must be epoch milliseconds or an ISO-8601 string`);
  }
  const ms = typeof value === 'string' ? Date.parse(value) : value;
  if (!Number.isFinite(ms)) return reject('DW_ERR_VALUE', `"${field}" is not a valid time: ${describe(value)}`);
  if (ms < 0 || ms > MAX_TIME_MS) return reject('DW_ERR_TIME', `"${field}" ${describe(value)} is outside the range of times (0 to ${MAX_TIME_MS} ms)`);
  return Math.floor(ms);
}

/** A time for a reason; only called with times inside the Date range. */
const iso = (ms: number): string => new Date(ms).toISOString();

/** Long input quoted in a reason is cut: a reason is one readable line on the DLQ. */
function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** A value quoted in a reason, never by calling into it (a hostile object's toString can throw or recurse). */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(clip(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : `a${typeof value === 'object' ? 'n object' : ` ${typeof value}`}`;
}

function checkTime(field: string, ms: number, now: number, limits: ValidationLimits): Rejection | undefined {
  if (ms < now - limits.allowedLatenessMs) {
    return reject('DW_ERR_TIME', `"${field}" ${iso(ms)} is older than the allowed lateness of ${limits.allowedLatenessMs / 1000}s`);
  }
  if (ms > now + limits.maxFutureMs) {
    return reject('DW_ERR_TIME', `"${field}" ${iso(ms)} is more than ${limits.maxFutureMs / 1000}s in the future`);
  }
  return undefined;
}

/** A name (feature, class) within the length bound, or the rejection saying which. */
function checkName(what: string, name: string, limits: ValidationLimits): Rejection | undefined {
  if (name.length > limits.maxNameLength) return reject('DW_ERR_VALIDATION', `${what} name ${JSON.stringify(clip(name, 40))} is longer than ${limits.maxNameLength} characters`);
  return undefined;
}

function checkValue(what: string, value: string, limits: ValidationLimits): Rejection | undefined {
  if (value.length > limits.maxValueLength) return reject('DW_ERR_VALIDATION', `${what} is a string longer than ${limits.maxValueLength} characters`);
  return undefined;
}

function finiteOrNull(value: unknown, what: string): number | null | Rejection {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') return reject('DW_ERR_VALIDATION', `${what} must be a number`);
  return checkNumber(what, value) ?? value;
}

/** A number a sketch can take: finite and within ±MAX_ABS_VALUE. */
function checkNumber(what: string, value: number): Rejection | undefined {
  if (!Number.isFinite(value)) return reject('DW_ERR_VALUE', `${what} is ${value}, not a finite number`);
  if (Math.abs(value) > MAX_ABS_VALUE) return reject('DW_ERR_VALUE', `${what} is ${value}, outside ±${MAX_ABS_VALUE}`);
  return undefined;
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
    return reject('DW_ERR_VALIDATION', `"role" must be one of ${MODEL_ROLES.join(', ')}, got ${describe(rawRole)}`);
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
    const badName = checkName('feature', name, limits);
    if (badName) return badName;
    const value = rawFeatures[name];
    if (typeof value === 'string') {
      const long = checkValue(`feature "${name}"`, value, limits);
      if (long) return long;
      continue;
    }
    if (value === null || value === undefined || typeof value === 'boolean') continue;
    if (typeof value !== 'number') return reject('DW_ERR_VALIDATION', `feature "${name}" must be a number, string, boolean or null`);
    const bad = checkNumber(`feature "${name}"`, value);
    if (bad) return bad;
  }

  const rawPrediction = input['prediction'] ?? null;
  if (rawPrediction !== null && typeof rawPrediction !== 'string' && typeof rawPrediction !== 'number') {
    return reject('DW_ERR_VALIDATION', '"prediction" must be a number or a string');
  }
  if (typeof rawPrediction === 'number') {
    const bad = checkNumber('"prediction"', rawPrediction);
    if (bad) return bad;
  }
  if (typeof rawPrediction === 'string') {
    const long = checkValue('"prediction"', rawPrediction, limits);
    if (long) return long;
  }

  let scores: Record<string, number> | null = null;
  const rawScores = input['prediction_scores'];
  if (rawScores !== undefined && rawScores !== null) {
    if (!isRecord(rawScores)) return reject('DW_ERR_VALIDATION', '"prediction_scores" must be an object of class → probability');
    scores = {};
    let classes = 0;
    for (const label in rawScores) {
      if (++classes > limits.maxFeatures) return reject('DW_ERR_VALIDATION', `more than ${limits.maxFeatures} classes in "prediction_scores"`);
      const badName = checkName('class', label, limits);
      if (badName) return badName;
      const score = rawScores[label];
      if (typeof score !== 'number' || !Number.isFinite(score) || score < 0 || score > 1) {
        return reject('DW_ERR_VALUE', `prediction score for "${clip(label, 40)}" must be a probability in [0, 1], got ${describe(score)}`);
      }
      scores[label] = score;
    }
  }

  const rawDefaults = input['default_values_used'] ?? [];
  if (!Array.isArray(rawDefaults) || !rawDefaults.every((name) => typeof name === 'string')) {
    return reject('DW_ERR_VALIDATION', '"default_values_used" must be an array of feature names');
  }
  if (rawDefaults.length > limits.maxFeatures) return reject('DW_ERR_VALIDATION', `more than ${limits.maxFeatures} names in "default_values_used"`);
  for (const name of rawDefaults as string[]) {
    const badName = checkName('default-value feature', name, limits);
    if (badName) return badName;
  }

  const latency = finiteOrNull(input['latency_ms'], '"latency_ms"');
  if (isRejection(latency)) return latency;
  if (latency !== null && latency < 0) return reject('DW_ERR_VALUE', `"latency_ms" is negative (${latency})`);

  const rawError = input['error'] ?? null;
  if (rawError !== null && typeof rawError !== 'string') return reject('DW_ERR_VALIDATION', '"error" must be a string error code');
  if (typeof rawError === 'string') {
    const long = checkValue('"error"', rawError, limits);
    if (long) return long;
  }

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
  if (typeof label === 'number') {
    const bad = checkNumber('"label"', label);
    if (bad) return bad;
  }
  if (typeof label === 'string') {
    const long = checkValue('"label"', label, limits);
    if (long) return long;
  }
  const observedAt = timestamp(input, 'observed_at');
  if (isRejection(observedAt)) return observedAt;
  if (observedAt > now + limits.maxFutureMs) {
    return reject('DW_ERR_TIME', `"observed_at" ${iso(observedAt)} is more than ${limits.maxFutureMs / 1000}s in the future`);
  }
  return { ok: true, event: { prediction_id: predictionId, label, observed_at: observedAt } };
}
