import { destination, pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs (pino) on stdout's sibling, stderr, so stdout stays for command results. */
export function createLogger(name = 'driftwatch', level = process.env['DRIFTWATCH_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, destination(2));
}
