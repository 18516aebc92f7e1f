import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Topology } from '../../config/topology.ts';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';

/** The Kafka client of a topology: brokers, patient reconnects, kafkajs logs through our logger. */
export function kafkaClient(topology: Topology, logger: Logger, clientId: string): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers: topology.sources.brokers,
    logLevel: logLevel.WARN,
    // Reconnect patiently: a broker restart is routine, not a reason to die.
    retry: { retries: 12, initialRetryTime: 200, maxRetryTime: 10_000 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        // An error from our eachBatch can carry a whole Redis command (thousands of keys and blobs):
        // log its message and the top of its stack, not the object.
        const { message, error, stack, ...extra } = log as LogEntry['log'] & { error?: unknown; stack?: unknown };
        const fields = {
          ...extra,
          ...(error === undefined ? {} : { error: typeof error === 'string' ? error : errorMessage(error) }),
          ...(typeof stack === 'string' ? { stack: stack.split('\n').slice(0, 6).join('\n') } : {}),
        };
        if (level <= logLevel.ERROR) kafkaLogger.error(fields, message);
        else kafkaLogger.warn(fields, message);
      },
  });
}
