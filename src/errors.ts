/**
 * One error type for the whole product, after kafkajs's KafkaJSError and fastify's FST_ERR_* catalogue:
 * a stable `code` users can grep and alert on, whether a retry could help, and the underlying cause.
 */
export const ERROR_CODES = [
  'DW_ERR_USAGE', // bad CLI usage or arguments (exit 2)
  'DW_ERR_CONFIG', // invalid topology or configuration (exit 2)
  'DW_ERR_INPUT', // an input file cannot be read as promised (exit 2)
  'DW_ERR_DECODE', // bytes that are neither Confluent Avro nor a JSON object
  'DW_ERR_SCHEMA_UNKNOWN', // a schema id the registry does not know
  'DW_ERR_VALIDATION', // a decoded event breaks the event contract
  'DW_ERR_TIME', // event time too late or too far in the future
  'DW_ERR_OVERSIZED', // a message over the configured size limit
  'DW_ERR_VALUE', // NaN / Infinity or another value a sketch cannot take
  'DW_ERR_STACK', // the local stack could not be installed or started
  'DW_ERR_SETUP', // `npm run demo` / `npm test` could not install what they need (scripts/bootstrap.mjs)
  'DW_ERR_STATE', // Redis state could not be read or written
  'DW_ERR_KAFKA', // Kafka could not be reached or answered with an error
  'DW_ERR_REGISTRY', // the schema registry could not be reached or answered with an error
  'DW_ERR_INTERNAL', // a bug: never retried
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface DriftwatchErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

export class DriftwatchError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: DriftwatchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DriftwatchError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Exit code the CLI uses for an error: 2 for anything the user can fix in their input, 1 otherwise. */
export function exitCodeFor(error: unknown): 1 | 2 {
  if (error instanceof DriftwatchError && ['DW_ERR_USAGE', 'DW_ERR_CONFIG', 'DW_ERR_INPUT'].includes(error.code)) {
    return 2;
  }
  return 1;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
