import type { Type } from 'avsc';
import { sniffWireFormat } from './wire.ts';
import type { Rejection } from './validate.ts';

/**
 * Writer schemas by registry id, resolved before a batch is decoded so that decoding itself stays
 * synchronous and pure. `undefined` means "not resolved"; a string is the reason the id is unusable.
 */
export interface WriterSchemaLookup {
  get(schemaId: number): Type | string | undefined;
}

export type Decoded = { ok: true; record: unknown; encoding: 'avro' | 'json' } | Rejection;

/** bytes → plain object, by the message's first byte (Confluent Avro or a JSON object). */
export function decodeValue(value: Buffer | null, maxBytes: number, schemas: WriterSchemaLookup): Decoded {
  if (value === null || value.length === 0) return { ok: false, code: 'DW_ERR_DECODE', reason: 'the message has no value' };
  if (value.length > maxBytes) {
    return { ok: false, code: 'DW_ERR_OVERSIZED', reason: `the message is ${value.length} bytes, over the limit of ${maxBytes}` };
  }
  const format = sniffWireFormat(value);
  if (format.kind === 'avro') {
    const type = schemas.get(format.schemaId);
    if (type === undefined || typeof type === 'string') {
      return { ok: false, code: 'DW_ERR_SCHEMA_UNKNOWN', reason: type ?? `schema id ${format.schemaId} was not resolved` };
    }
    try {
      return { ok: true, record: type.fromBuffer(value.subarray(5)), encoding: 'avro' };
    } catch (error) {
      return { ok: false, code: 'DW_ERR_DECODE', reason: `Avro body does not match writer schema ${format.schemaId}: ${(error as Error).message}` };
    }
  }
  if (format.kind === 'json') {
    try {
      return { ok: true, record: JSON.parse(value.toString('utf8')) as unknown, encoding: 'json' };
    } catch (error) {
      return { ok: false, code: 'DW_ERR_DECODE', reason: `not valid JSON: ${(error as Error).message}` };
    }
  }
  return {
    ok: false,
    code: 'DW_ERR_DECODE',
    reason: `neither Confluent Avro (magic byte 0) nor a JSON object (first byte 0x${value[0]!.toString(16).padStart(2, '0')})`,
  };
}

/** The schema ids a batch needs that the lookup does not hold yet. */
export function unresolvedSchemaIds(values: Iterable<Buffer | null>, schemas: WriterSchemaLookup): Set<number> {
  const missing = new Set<number>();
  for (const value of values) {
    if (value === null) continue;
    const format = sniffWireFormat(value);
    if (format.kind === 'avro' && schemas.get(format.schemaId) === undefined) missing.add(format.schemaId);
  }
  return missing;
}
