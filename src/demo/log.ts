import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { destination, multistream, pino, type Logger } from 'pino';

/**
 * The demo's logs: everything (info and up) in a file, and on the live view only what a newcomer should
 * act on. The Kafka client's warnings and the transient errors every fresh consumer group goes through
 * ("The coordinator is loading and hence can't process requests", a rebalance in progress, a leader
 * being elected) read as failure on a terminal while they are routine: they go to the file only.
 */

/** Libraries whose lines we forward: their warnings are theirs to retry, not the user's to read. */
const LIBRARY_COMPONENTS = new Set(['kafkajs', 'ioredis']);

/** Errors Kafka clients retry by themselves at start-up and during a rebalance. */
const TRANSIENT =
  /coordinator is (loading|not available)|not the correct coordinator|not coordinator|leader(ship)? (is )?not available|there is no leader|rebalanc(e|ing) in progress|group is rebalancing|REBALANCE_IN_PROGRESS|COORDINATOR_LOAD_IN_PROGRESS|NOT_COORDINATOR|LEADER_NOT_AVAILABLE/i;

const WARN = 40;
const ERROR = 50;

export interface LogLine {
  level: number;
  msg?: string;
  component?: string;
  err?: unknown;
  error?: unknown;
}

const text = (value: unknown): string => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));

/** Whether a log line belongs on the live view (it is in the file either way). */
export function showOnLiveView(line: LogLine): boolean {
  if (line.level < WARN) return false;
  if (TRANSIENT.test(`${text(line.msg)} ${text(line.err)} ${text(line.error)}`)) return false;
  if (line.component !== undefined && LIBRARY_COMPONENTS.has(line.component)) return line.level >= ERROR;
  return true;
}

/** One short human line for the live view: "warn: message (err)". */
export function liveViewText(line: LogLine): string {
  const cause = text(line.err ?? line.error);
  const level = line.level >= ERROR ? 'error' : 'warn';
  return `${level}: ${text(line.msg)}${cause === '' ? '' : ` (${cause.length > 200 ? `${cause.slice(0, 199)}…` : cause})`}`;
}

export interface DemoLog {
  logger: Logger;
  file: string;
  /** Flushes the file. */
  close(): void;
}

/** A logger writing every line to `file` and handing the lines worth showing to `show`. */
export function demoLog(file: string, show: (line: string) => void): DemoLog {
  mkdirSync(dirname(file), { recursive: true });
  const fileStream = destination({ dest: file, sync: true, append: false });
  const liveView = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const raw of chunk.toString('utf8').split('\n')) {
        if (raw.trim() === '') continue;
        try {
          const line = JSON.parse(raw) as LogLine;
          if (showOnLiveView(line)) show(liveViewText(line));
        } catch {
          show(raw);
        }
      }
      done();
    },
  });
  const logger = pino(
    { name: 'driftwatch-demo', level: 'info', base: { pid: process.pid } },
    multistream([
      { level: 'info', stream: fileStream },
      { level: 'warn', stream: liveView },
    ]),
  );
  return { logger, file, close: () => fileStream.flushSync() };
}
