import { readFileSync } from 'node:fs';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { writerSchemaDecoder, type AvroBodyDecoder } from '../../../src/decode/decode.ts';
import { confluentHeader, decodeValue, sniffWireFormat, unresolvedSchemaIds } from '../../../src/decode/index.ts';

const schema = JSON.parse(readFileSync('schemas/prediction-log.avsc', 'utf8')) as avro.Schema;
const type = avro.Type.forSchema(schema);
const event = {
  prediction_id: 'p-1',
  predictor_name: 'eta',
  model_id: 'eta-v1',
  role: 'shadow',
  sent_at: 1_700_000_000_000,
  features: { a: 1.5, b: 'x', c: null, d: false },
  prediction: 'late',
  prediction_scores: { late: 0.7, on_time: 0.3 },
  default_values_used: ['c'],
  latency_ms: null,
  error: null,
  request_id: 'req-1',
};
const schemas = new Map<number, AvroBodyDecoder | string>([
  [7, writerSchemaDecoder(schema)],
  [9, 'schema id 9 is not known to the registry'],
]);

describe('sniffWireFormat', () => {
  it('reads the Confluent header and tells JSON from garbage', () => {
    expect(sniffWireFormat(Buffer.concat([confluentHeader(0x01020304), Buffer.from([2])]))).toEqual({ kind: 'avro', schemaId: 0x01020304 });
    expect(sniffWireFormat(Buffer.from('  \n{"a":1}'))).toEqual({ kind: 'json' });
    expect(sniffWireFormat(Buffer.from('[1,2]'))).toEqual({ kind: 'unknown' });
    expect(sniffWireFormat(Buffer.from([0, 1]))).toEqual({ kind: 'unknown' });
  });
});

describe('decodeValue', () => {
  it('decodes Confluent Avro through the writer schema into plain values', () => {
    const bytes = Buffer.concat([confluentHeader(7), type.toBuffer(event)]);
    const decoded = decodeValue(bytes, 1 << 20, schemas);
    expect(decoded).toEqual({ ok: true, encoding: 'avro', record: event });
  });

  it('decodes JSON objects', () => {
    expect(decodeValue(Buffer.from(JSON.stringify(event)), 1 << 20, schemas)).toEqual({ ok: true, encoding: 'json', record: event });
  });

  it.each([
    [null, 'DW_ERR_DECODE', 'no value'],
    [Buffer.from([0xde, 0xad]), 'DW_ERR_DECODE', 'first byte 0xde'],
    [Buffer.from('{"a":'), 'DW_ERR_DECODE', 'not valid JSON'],
    [Buffer.concat([confluentHeader(9), Buffer.from([1])]), 'DW_ERR_SCHEMA_UNKNOWN', 'not known'],
    [Buffer.concat([confluentHeader(7), Buffer.from([1, 2, 3])]), 'DW_ERR_DECODE', 'writer schema 7'],
    [Buffer.alloc(2000, 0x7b), 'DW_ERR_OVERSIZED', '2000 bytes'],
  ])('rejects %s', (value, code, words) => {
    const decoded = decodeValue(value as Buffer | null, 1000, schemas);
    expect(decoded).toMatchObject({ ok: false, code });
    expect(decoded.ok === false && decoded.reason).toContain(words);
  });

  it('lists the schema ids a batch still needs', () => {
    const values = [Buffer.concat([confluentHeader(7), Buffer.from([0])]), Buffer.concat([confluentHeader(11), Buffer.from([0])]), Buffer.from('{}'), null];
    expect([...unresolvedSchemaIds(values, schemas)]).toEqual([11]);
  });
});

describe('prediction-log schema evolution', () => {
  it('decodes version 1 bodies (no request_id) and version 2 bodies alike; validation fills request_id with null', async () => {
    const { validatePrediction } = await import('../../../src/decode/index.ts');
    const v2 = JSON.parse(readFileSync('schemas/prediction-log.avsc', 'utf8')) as { fields: { name: string }[] };
    const v1 = { ...v2, fields: v2.fields.filter((field) => field.name !== 'request_id') };
    const mixed = new Map<number, AvroBodyDecoder | string>([
      [1, writerSchemaDecoder(v1)],
      [2, writerSchemaDecoder(v2)],
    ]);
    const { request_id: _omitted, ...old } = event;
    const now = event.sent_at + 1000;
    const fromV1 = decodeValue(Buffer.concat([confluentHeader(1), avro.Type.forSchema(v1 as avro.Schema).toBuffer(old)]), 1 << 20, mixed);
    const fromV2 = decodeValue(Buffer.concat([confluentHeader(2), type.toBuffer(event)]), 1 << 20, mixed);
    expect(fromV1.ok && validatePrediction(fromV1.record, now)).toMatchObject({ ok: true, event: { prediction_id: 'p-1', request_id: null } });
    expect(fromV2.ok && validatePrediction(fromV2.record, now)).toMatchObject({ ok: true, event: { prediction_id: 'p-1', request_id: 'req-1' } });
    // A version 1 body read with the version 2 schema would not decode: each message names its writer schema.
    expect(() => writerSchemaDecoder(v2).decode(avro.Type.forSchema(v1 as avro.Schema).toBuffer(old))).toThrow();
  });
});
