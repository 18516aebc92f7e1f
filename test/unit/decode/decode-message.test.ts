import { describe, expect, it } from 'vitest';
import { confluentHeader, decodeMessage, type WriterSchemaLookup } from '../../../src/decode/index.ts';

describe('decodeMessage', () => {
  const none: WriterSchemaLookup = { get: () => undefined };

  it('validates what decodes, and rejects what does not with the decoder\'s reason', () => {
    const ok = decodeMessage(Buffer.from('{"a":1}'), 1024, none, (record) => ({ ok: true, event: record }));
    expect(ok).toEqual({ ok: true, event: { a: 1 } });
    expect(decodeMessage(null, 1024, none, () => ({ ok: true, event: 1 }))).toMatchObject({ ok: false, code: 'DW_ERR_DECODE' });
  });

  it('a throw in decoding or validation (a bug) rejects that one message as DW_ERR_INTERNAL instead of failing the batch', () => {
    const throwing: WriterSchemaLookup = {
      get: () => {
        throw new Error('boom in the schema cache');
      },
    };
    expect(decodeMessage(Buffer.concat([confluentHeader(3), Buffer.from([2])]), 1024, throwing, () => ({ ok: true, event: 1 }))).toEqual({
      ok: false,
      code: 'DW_ERR_INTERNAL',
      reason: 'driftwatch could not process this message: boom in the schema cache',
    });
    expect(
      decodeMessage(Buffer.from('{}'), 1024, none, () => {
        throw new TypeError('validator bug');
      }),
    ).toMatchObject({ ok: false, code: 'DW_ERR_INTERNAL', reason: 'driftwatch could not process this message: validator bug' });
  });
});
