import { destination, pino, type DestinationStream, type Logger } from 'pino';
import { scrubSecrets } from './redact.ts';

export type { Logger };

/**
 * Structured JSON logs (pino) on stdout's sibling, stderr, so stdout stays for command results. Every
 * line is scrubbed of the topology's secrets just before it is written (pino's streamWrite hook sees
 * the serialized line, errors and kafkajs/ioredis messages included).
 */
export function createLogger(name = 'driftwatch', level = process.env['DRIFTWATCH_LOG_LEVEL'] ?? 'info', stream: DestinationStream = destination(2)): Logger {
  return pino({ name, level, base: { pid: process.pid }, hooks: { streamWrite: scrubSecrets } }, stream);
}
