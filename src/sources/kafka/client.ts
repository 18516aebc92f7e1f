import { Kafka, logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Topology } from '../../config/topology.ts';
import { tlsConnectionOptions } from '../../config/tls.ts';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../telemetry/logger.ts';
import { oauthBearerProvider } from './oauth-token.ts';

type Sources = Topology['sources'];

/**
 * TLS and SASL of a topology's `sources` as kafkajs options: one function, so that the worker's consumer,
 * producer and admin, `produce`, the demo and the benchmarks connect the same way.
 */
export function kafkaSecurity(sources: Pick<Sources, 'tls' | 'sasl'>): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const { sasl } = sources;
  let saslOptions: SASLOptions | undefined;
  if (sasl?.mechanism === 'oauthbearer') saslOptions = { mechanism: 'oauthbearer', oauthBearerProvider: oauthBearerProvider(sasl) };
  else if (sasl !== undefined) saslOptions = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  return {
    ...(sources.tls === undefined ? {} : { ssl: tlsConnectionOptions(sources.tls, 'sources.tls') }),
    ...(saslOptions === undefined ? {} : { sasl: saslOptions }),
  };
}

/** The Kafka client of a topology's sources: brokers, TLS/SASL, patient reconnects, kafkajs logs through our logger. */
export function kafkaClient(sources: Pick<Sources, 'brokers' | 'tls' | 'sasl'>, logger: Logger, clientId: string): Kafka {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId,
    brokers: sources.brokers,
    ...kafkaSecurity(sources),
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
