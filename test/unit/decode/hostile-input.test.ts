import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Admission, ModelSummary, planPredictions, SUMMARY_CODECS, type PositionedEvent } from '../../../src/aggregate/index.ts';
import { decodeValue, DEFAULT_LIMITS, validateLabel, validatePrediction, type ValidationLimits, type WriterSchemaLookup } from '../../../src/decode/index.ts';
import { writerSchemaDecoder } from '../../../src/decode/decode.ts';
import { ERROR_CODES } from '../../../src/errors.ts';
import { encodeJoinRecord, planLabels, type Claim, type LabelItem } from '../../../src/join/index.ts';
import { predictionType } from '../../../src/produce/encode.ts';
import { labelType } from '../../../src/produce/labels.ts';
import { HOSTILE_CLASSES, hostileLabel, hostilePrediction, NOW, type Hostile } from '../../kit/hostile.ts';

/**
 * Property-based: whatever bytes a producer sends, decode → validate → aggregate (and the label plan)
 * either accepts the message or rejects it with a catalogued code and a reason, and never throws; what
 * is accepted encodes into summaries that decode again.
 */
const LIMITS: ValidationLimits & { maxMessageBytes: number } = { ...DEFAULT_LIMITS, maxMessageBytes: 65_536 };
const PREDICTION_ID = 1;
const LABEL_ID = 2;
const schemas: WriterSchemaLookup = {
  get: (id) => (id === PREDICTION_ID ? predictionDecoder : id === LABEL_ID ? labelDecoder : `schema id ${id} is not known to the registry`),
};
const predictionDecoder = writerSchemaDecoder(predictionType().schema());
const labelDecoder = writerSchemaDecoder(labelType().schema());
const RUNS = Number(process.env['DW_FUZZ_RUNS'] ?? 300);
const aggregation = { bucketMs: 60_000, maxModels: 50, maxFeaturesPerModel: 20, maxCategories: 10 };
const labelOptions = { sampleRate: 1, ttlMs: 7 * 86_400_000, waitMs: 600_000, maxClasses: 10, bucketMs: 60_000 };

function expectVerdict(result: { ok: boolean; code?: string; reason?: string }, message: Hostile): void {
  if (result.ok) return;
  expect(ERROR_CODES, `${message.kind}: a catalogued code`).toContain(result.code);
  expect(result.reason?.length ?? 0, `${message.kind}: a reason`).toBeGreaterThan(5);
}

describe('hostile input: decode → validate → aggregate never throws', () => {
  it('covers every class of hostile input', () => {
    expect(HOSTILE_CLASSES.length).toBeGreaterThanOrEqual(15);
  });

  it('predictions: rejected with a code and reason, or accepted into summaries that decode again', () => {
    const seen = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(fc.array(hostilePrediction(PREDICTION_ID), { minLength: 1, maxLength: 20 }), (messages) => {
        const accepted: PositionedEvent[] = [];
        messages.forEach((message, offset) => {
          const decoded = decodeValue(message.value, LIMITS.maxMessageBytes, schemas);
          const validated = decoded.ok ? validatePrediction(decoded.record, NOW, LIMITS) : decoded;
          expectVerdict(validated, message);
          if (validated.ok) accepted.push({ offset, event: validated.event });
          seen[validated.ok ? 'accepted' : 'rejected']++;
        });
        const plan = planPredictions(accepted, { aggregation, admission: new Admission(aggregation.maxModels, aggregation.maxFeaturesPerModel), joinSampleRate: 1 });
        for (const model of plan.models) {
          for (const { bytes } of model.buckets) expect(SUMMARY_CODECS.summary.merge([bytes])).toBeInstanceOf(ModelSummary);
        }
        expect(plan.models.reduce((sum, model) => sum + model.count, 0) + plan.overflowModelEvents).toBe(accepted.length);
      }),
      { numRuns: RUNS },
    );
    // Both paths were exercised, not only the rejections.
    expect(seen.accepted).toBeGreaterThan(RUNS / 5);
    expect(seen.rejected).toBeGreaterThan(RUNS);
  }, 120_000);

  it('labels: rejected with a code and reason, or planned against any join record', () => {
    fc.assert(
      fc.property(fc.array(hostileLabel(LABEL_ID), { minLength: 1, maxLength: 20 }), fc.double({ noNaN: true, min: -1e6, max: 1e6 }), (messages, predicted) => {
        const items: LabelItem[] = [];
        messages.forEach((message, offset) => {
          const decoded = decodeValue(message.value, LIMITS.maxMessageBytes, schemas);
          const validated = decoded.ok ? validateLabel(decoded.record, NOW, LIMITS) : decoded;
          expectVerdict(validated, message);
          if (validated.ok) items.push({ event: validated.event, source: `labels/0/${offset}` });
        });
        const record = encodeJoinRecord({ model: 'eta/eta-v1', sentAt: NOW - 5000, prediction: predicted, scores: null });
        const claims: Claim[] = items.map((_, i) => (i % 3 === 0 ? { kind: 'claimed', record, fresh: true } : i % 3 === 1 ? { kind: 'missing' } : { kind: 'duplicate' }));
        const plan = planLabels(items, claims, NOW, labelOptions);
        const outcomes = [...plan.outcomes.values()].reduce((sum, n) => sum + n, 0);
        expect(outcomes).toBe(items.length);
        for (const delta of plan.models.values()) for (const summary of delta.buckets.values()) SUMMARY_CODECS.performance.merge([summary.encode()]);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
