import avro from 'avsc';
import { errorMessage } from '../errors.ts';
import { compileAvroReader } from './avro-reader.ts';
import { sniffWireFormat } from './wire.ts';
import type { Rejection } from './validate.ts';

/** Decodes Avro bodies (no Confluent header) written with one schema; throws when the bytes do not match it. */
export interface AvroBodyDecoder {
  /**
   * 'compiled': the reader of ./avro-reader.ts; 'avsc': a schema that reader leaves to avsc. Also keeps
   * an avsc Type (whose own `decode(buf, pos)` returns `{ value, offset }`) from passing for a decoder.
   */
  readonly engine: 'compiled' | 'avsc';
  decode(body: Buffer): unknown;
}

/**
 * Writer schemas by registry id, resolved before a batch is decoded so that decoding itself stays
 * synchronous and pure. `undefined` means "not resolved"; a string is the reason the id is unusable.
 */
export interface WriterSchemaLookup {
  get(schemaId: number): AvroBodyDecoder | string | undefined;
}

/**
 * The decoder of one writer schema (its parsed JSON): the compiled reader, or avsc's `fromBuffer` when
 * the schema is one the reader does not compile. Both give the same values (unwrapped unions, longs
 * as numbers). Throws, like avsc, when the schema is not a usable Avro schema.
 */
export function writerSchemaDecoder(schema: unknown): AvroBodyDecoder {
  // avsc first: it validates the schema (the reader trusts that) and is the fallback.
  const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: 'never' });
  let reader: ReturnType<typeof compileAvroReader>;
  try {
    reader = compileAvroReader(schema);
  } catch {
    // A schema the compiler trips over is a bug there; avsc still decodes it correctly.
    reader = undefined;
  }
  if (reader !== undefined) return { engine: 'compiled', decode: reader.decode };
  return { engine: 'avsc', decode: (body) => type.fromBuffer(body) as unknown };
}

/**
 * A writer schema's text (as the registry serves it) compiled for decoding, or why it cannot be used:
 * the reason its messages are dead-lettered with. One place for the registry cache and the planning
 * thread, which compiles its own.
 */
export function compileWriterSchema(schemaId: number, text: string): AvroBodyDecoder | string {
  try {
    return writerSchemaDecoder(JSON.parse(text) as unknown);
  } catch (error) {
    return `schema id ${schemaId} is not a usable Avro schema: ${errorMessage(error)}`;
  }
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
    const decoder = schemas.get(format.schemaId);
    if (decoder === undefined || typeof decoder === 'string') {
      return { ok: false, code: 'DW_ERR_SCHEMA_UNKNOWN', reason: decoder ?? `schema id ${format.schemaId} was not resolved` };
    }
    try {
      return { ok: true, record: decoder.decode(value.subarray(5)), encoding: 'avro' };
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
