import type { Command } from 'commander';
import type { Registry } from 'prom-client';
import { DriftwatchError } from '../errors.ts';
import type { Worker } from '../pipeline.ts';
import type { TelemetryServer } from '../telemetry/server.ts';
import { examples, port, topologyOption } from './options.ts';

export const METRICS_PORT_ENV = 'DW_METRICS_PORT';

/** --metrics-port, else $DW_METRICS_PORT, else the topology's sinks.metrics.port (9464 by default). */
export function metricsPort(flag: number | undefined, env: string | undefined, topologyPort: number): number {
  if (flag !== undefined) return flag;
  if (env !== undefined && env.trim() !== '') return port(METRICS_PORT_ENV)(env);
  return topologyPort;
}

/**
 * The /metrics server is bound before the worker joins its group: a port another process holds is a
 * configuration error (exit 2) found in milliseconds, not after a rebalance.
 */
async function serveMetrics(registry: Registry, host: string, portNumber: number, ready: () => boolean): Promise<TelemetryServer> {
  const { startTelemetryServer } = await import('../telemetry/server.ts');
  try {
    return await startTelemetryServer(registry, { host, port: portNumber, ready });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EACCES') {
      const why = code === 'EADDRINUSE' ? 'is already in use' : 'may not be bound by this user';
      throw new DriftwatchError(
        'DW_ERR_CONFIG',
        `metrics port ${portNumber} on ${host} ${why}: give each worker on this host its own with --metrics-port <port> (or ${METRICS_PORT_ENV}; 0 picks a free one)`,
        { cause: error },
      );
    }
    throw error;
  }
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run one worker: consume prediction logs, keep state in Redis, serve /metrics')
    .addOption(topologyOption())
    .option('--worker-id <id>', 'a name for this worker in logs and dead-letter headers (default: host-pid)')
    .option('--metrics-port <port>', `port of /metrics, /healthz and /readyz (default: $${METRICS_PORT_ENV}, else sinks.metrics.port, 9464)`, port('--metrics-port'))
    .option('--drain-timeout <duration>', 'on SIGTERM, exit (code 1) if draining takes longer than this', '30s')
    .addHelpText(
      'after',
      examples(
        ['driftwatch run', 'one worker on the local stack (topologies/default.yaml)'],
        ['driftwatch run --topology topologies/prod.yaml --worker-id eta-1', 'on your own Kafka, Redis and registry'],
        ['driftwatch run --metrics-port 9465', 'a second worker on the same host: each needs its own metrics port'],
      ),
    )
    .action(async (options: { topology?: string; workerId?: string; metricsPort?: number; drainTimeout: string }) => {
      const { parseDuration } = await import('../evaluate/duration.ts');
      const drainMs = parseDuration(options.drainTimeout);
      if (drainMs === undefined) throw new DriftwatchError('DW_ERR_USAGE', `--drain-timeout: expected a duration such as 30s, got "${options.drainTimeout}"`);
      // Loaded on use: `--help` must not pay for kafkajs, ioredis and the rest (start-up time).
      const [{ resolveTopology }, { startWorker }, { createLogger }, { createRegistry }, { ConnectionErrors }] = await Promise.all([
        import('./topology-option.ts'),
        import('../pipeline.ts'),
        import('../telemetry/logger.ts'),
        import('../telemetry/metrics.ts'),
        import('./connection-errors.ts'),
      ]);
      const topology = resolveTopology(options.topology);
      const { host } = topology.sinks.metrics;
      const portNumber = metricsPort(options.metricsPort, process.env[METRICS_PORT_ENV], topology.sinks.metrics.port);
      const logger = createLogger();
      const registry = createRegistry();
      let worker: Worker | undefined;
      let draining = false;
      // /healthz from the first second; /readyz 503 until the worker consumes, and again while it drains.
      const server = await serveMetrics(registry, host, portNumber, () => !draining && (worker?.ready() ?? false));
      // A signal while Redis or Kafka are still being waited for: nothing to drain yet.
      const early = (signal: string) => {
        logger.info({ signal }, 'stopping before the worker started');
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGTERM', early);
      process.once('SIGINT', early);
      try {
        worker = await ConnectionErrors.of(topology).run(() => startWorker({ topology, logger, registry, ...(options.workerId ? { workerId: options.workerId } : {}) }));
      } catch (error) {
        await server.close();
        throw error;
      }
      process.off('SIGTERM', early);
      process.off('SIGINT', early);
      logger.info({ metrics: `http://${host}:${server.port}/metrics` }, 'serving metrics');
      const running = worker;

      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string) => {
          if (stopping) return;
          stopping = true;
          draining = true;
          logger.info({ signal, deadline_ms: drainMs }, 'draining: finishing the batch in flight, committing, leaving the group');
          const deadline = setTimeout(() => {
            // What was not committed is redelivered to the partitions' next owners (and skipped there by the watermarks).
            logger.error({ deadline_ms: drainMs }, `drain did not finish within ${options.drainTimeout}; exiting without a clean stop`);
            process.exit(1);
          }, drainMs);
          deadline.unref();
          running
            .stop()
            .then(() => server.close())
            .then(resolve, (error: unknown) => {
              logger.error({ err: error }, 'unclean stop');
              process.exitCode = 1;
              resolve();
            })
            .finally(() => clearTimeout(deadline));
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
