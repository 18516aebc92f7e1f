import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { confluentHeader } from '../decode/index.ts';
import type { LabelEvent, PredictionEvent } from '../events.ts';
import { createRandom, type Random } from '../random.ts';

export const LABEL_SCHEMA_FILE = new URL('../../schemas/label.avsc', import.meta.url);

export interface LabelSpec {
  seed: number;
  /** Classification: the label is the predicted class with this probability, else another class. */
  accuracy: number;
  /** Regression: label = prediction + N(0, noise²). */
  noise: number;
  /** observed_at = sent_at + a delay drawn uniformly from [min, max] ms. */
  delayMs: { min: number; max: number };
  /** Classes a wrong label is drawn from (default: the classes of the prediction's scores). */
  classes?: readonly string[];
}

export const DEFAULT_LABELS: LabelSpec = { seed: 1, accuracy: 0.9, noise: 0.1, delayMs: { min: 1000, max: 5000 } };

/**
 * Deterministic synthetic labels for produced predictions (demo and tests): the same spec, seed and
 * predictions give the same labels, so a test knows the exact truth of what it produced.
 */
export class LabelGenerator {
  private readonly random: Random;

  constructor(private readonly spec: LabelSpec) {
    this.random = createRandom(spec.seed);
  }

  /** The label of one prediction; null for a failed request (nothing to label). `accuracy` overrides the spec's. */
  label(event: PredictionEvent, accuracy = this.spec.accuracy): LabelEvent | null {
    const { prediction } = event;
    if (prediction === null || event.error !== null) return null;
    const { min, max } = this.spec.delayMs;
    const observedAt = event.sent_at + Math.round(min + (max - min) * this.random.next());
    if (typeof prediction === 'number' && event.prediction_scores === null) {
      return { prediction_id: event.prediction_id, label: prediction + this.spec.noise * this.random.normal(), observed_at: observedAt };
    }
    const predicted = String(prediction);
    if (this.random.next() < accuracy) return { prediction_id: event.prediction_id, label: predicted, observed_at: observedAt };
    const others = (this.spec.classes ?? Object.keys(event.prediction_scores ?? {})).filter((name) => name !== predicted);
    if (others.length === 0) return { prediction_id: event.prediction_id, label: predicted, observed_at: observedAt };
    const wrong = others[Math.min(others.length - 1, Math.floor(this.random.next() * others.length))]!;
    return { prediction_id: event.prediction_id, label: wrong, observed_at: observedAt };
  }
}

export function labelType(): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(LABEL_SCHEMA_FILE, 'utf8')) as avro.Schema);
}

/** Confluent wire format: magic byte, schema id, Avro body. */
export function encodeLabelAvro(type: avro.Type, schemaId: number, label: LabelEvent): Buffer {
  return Buffer.concat([confluentHeader(schemaId), type.toBuffer(label)]);
}

export function encodeLabelJson(label: LabelEvent): Buffer {
  return Buffer.from(JSON.stringify(label), 'utf8');
}
