import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { confluentHeader } from '../decode/index.ts';
import type { PredictionEvent } from '../events.ts';

export const PREDICTION_SCHEMA_FILE = new URL('../../schemas/prediction-log.avsc', import.meta.url);

export function predictionType(): avro.Type {
  return avro.Type.forSchema(JSON.parse(readFileSync(PREDICTION_SCHEMA_FILE, 'utf8')) as avro.Schema);
}

/** Confluent wire format: magic byte, schema id, Avro body. */
export function encodeAvro(type: avro.Type, schemaId: number, event: PredictionEvent): Buffer {
  return Buffer.concat([confluentHeader(schemaId), type.toBuffer(event)]);
}

export function encodeJson(event: PredictionEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}
