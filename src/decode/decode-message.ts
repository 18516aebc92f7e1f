import { errorMessage } from '../errors.ts';
import { decodeValue, type WriterSchemaLookup } from './decode.ts';
import type { Rejection, Validated } from './validate.ts';

/**
 * One message's value → its validated event, or why not. A throw in there (a bug: decoders and
 * validators return rejections) rejects this one message as DW_ERR_INTERNAL: failing its batch instead
 * would stall the partition on it for ever.
 */
export function decodeMessage<T>(value: Buffer | null, maxMessageBytes: number, schemas: WriterSchemaLookup, validate: (record: unknown) => Validated<T>): Validated<T> | Rejection {
  try {
    const decoded = decodeValue(value, maxMessageBytes, schemas);
    return decoded.ok ? validate(decoded.record) : decoded;
  } catch (error) {
    return { ok: false, code: 'DW_ERR_INTERNAL', reason: `driftwatch could not process this message: ${errorMessage(error)}` };
  }
}
