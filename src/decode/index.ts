export { compileWriterSchema, decodeValue, unresolvedSchemaIds, writerSchemaDecoder, type AvroBodyDecoder, type Decoded, type WriterSchemaLookup } from './decode.ts';
export { decodeMessage } from './decode-message.ts';
export { DEFAULT_LIMITS, validateLabel, validatePrediction, type Rejection, type Validated, type ValidationLimits } from './validate.ts';
export { confluentHeader, sniffWireFormat } from './wire.ts';
